"""Create (once) the demo organisation, its members and a demo voice for `make run`."""
from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.db import transaction

from voicegate.accounts.models import Organisation, Role
from voicegate.accounts.selectors import member_named
from voicegate.accounts.services import add_member, create_organisation
from voicegate.commands import JsonCommand

DEMO_ORG = "Demo Newsroom"
DEMO_USERS = {"demo-admin": Role.ADMIN, "demo-producer": Role.PRODUCER, "demo-moderator": Role.MODERATOR}


class Command(JsonCommand):
    help = "Create the demo organisation, an admin, a producer and a moderator, and a demo voice (idempotent)."

    def run(self, **options):
        credentials_file = settings.VAR_DIR / "demo-credentials.json"
        with transaction.atomic():
            org = Organisation.objects.filter(name=DEMO_ORG).first()
            if org is None:
                passwords = {name: secrets.token_urlsafe(9) for name in DEMO_USERS}
                created = create_organisation(DEMO_ORG, "demo-admin", admin_password=passwords["demo-admin"])
                org = created.organisation
                for name, role in DEMO_USERS.items():
                    if role != Role.ADMIN:
                        add_member(org, name, role, actor=created.admin, password=passwords[name])
                admin = created.admin
                admin.is_staff = admin.is_superuser = True  # the demo admin also gets the Django admin
                admin.save(update_fields=["is_staff", "is_superuser"])
                settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
                credentials_file.write_text(json.dumps({"api_token": created.api_token.raw, "passwords": passwords}))
                credentials_file.chmod(0o600)
        stored = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
        voice = self.ensure_demo_voice(org)
        return {
            "org_id": str(org.pk),
            "organisation": org.name,
            "users": {name: {"role": role, "password": stored.get("passwords", {}).get(name, "(unknown)")}
                      for name, role in DEMO_USERS.items() if member_named(org, name) is not None},
            "admin_api_token": stored.get("api_token", "(unknown)"),
            "demo_voice": voice,
            "url": "http://127.0.0.1:8000/",
        }

    def ensure_demo_voice(self, org):
        try:
            from consent.demo import ensure_demo_voice
        except ImportError:
            return None
        self.progress("preparing the demo voice (synthesised reference and consent statement)...")
        from django.conf import settings

        # The demo enrolls its voice below with a short budget; no full enrollment on consent meanwhile.
        enroll_on_consent, settings.SYNTHESIS_ENROLL_ON_CONSENT = settings.SYNTHESIS_ENROLL_ON_CONSENT, False
        try:
            voice_id = ensure_demo_voice(org)
        finally:
            settings.SYNTHESIS_ENROLL_ON_CONSENT = enroll_on_consent
        if voice_id:
            self.enroll_demo_voice(voice_id)
        return voice_id

    def enroll_demo_voice(self, voice_id: str) -> None:
        """Enroll once with a short budget so the demo voice speaks at once (a full enrollment takes up to 5 min)."""
        from consent.models import Voice
        from synthesis.services import start_enrollment

        voice = Voice.objects.select_related("organisation").get(pk=voice_id)
        admin = member_named(voice.organisation, "demo-admin").user
        budget = float(os.environ.get("DEMO_ENROLLMENT_BUDGET_S", "60"))

        def report(fraction: float, message: str) -> None:
            self.progress(f"  enrolling the demo voice: {fraction:4.0%} {message}")

        artifact = start_enrollment(voice, admin, budget_s=budget, run_now=True, on_progress=report)
        self.progress(f"demo voice enrollment: {artifact.status}")

    def describe(self, result):
        lines = [f"Demo organisation: {result['organisation']} ({result['org_id']})", "Sign in at "
                 f"{result['url']} with the organisation {result['organisation']!r} and:"]
        for name, info in result["users"].items():
            lines.append(f"  {name:15} {info['password']:14} ({info['role']})")
        lines.append(f"Admin API token: {result['admin_api_token']}")
        if result.get("demo_voice"):
            lines.append(f"Demo voice: {result['demo_voice']}")
        lines.append("(credentials are kept in var/demo-credentials.json)")
        return "\n".join(lines)
