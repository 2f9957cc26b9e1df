"""Server time of every web UI page on the embedded defaults; prints one JSON object.

    .venv/bin/python bench/ui.py [--repeat 7] [--audit-entries 5000] [--generations 200]

A scratch SQLite database and media folder under /tmp (deleted at the end) get one
organisation with a consented voice (real Piper reference audio, through consent.services),
one unconsented voice, ``--generations`` finished generation rows for the studio's history,
a verification with its moderation item, and ``--audit-entries`` audit entries. Each page is
fetched with Django's test client (no network, no browser: the figure is the server's time to
answer) ``--repeat`` times after one warm-up; the JSON has the median and worst in ms per page
and whether every page stayed under the 1 s budget of issue 7.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
BUDGET_MS = 1000.0


def _setup_django(scratch: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'ui.sqlite3'}"
    os.environ["VOICEGATE_VAR_DIR"] = str(scratch)
    os.environ["STORAGE_LOCAL_ROOT"] = str(scratch / "media")
    os.environ["JOBS_IN_PROCESS"] = "eager"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _populate(audit_entries: int, generations: int) -> dict:
    from django.utils import timezone

    from bench.fixtures import consented_voice
    from consent import services as consent_services
    from safety.services import submit_verification
    from synthesis.models import Generation
    from synthesis.services import new_watermark_key
    from tests.web.audio import reference_wav
    from voicegate.accounts.models import Role
    from voicegate.accounts.services import add_member, create_organisation
    from voicegate.audit.services import record_audit

    created = create_organisation("Bench Media", "bench-admin")
    org, admin = created.organisation, created.admin
    producer = add_member(org, "bench-producer", Role.PRODUCER, actor=admin, password="correct-horse-9").user
    moderator = add_member(org, "bench-moderator", Role.MODERATOR, actor=admin, password="correct-horse-9").user
    voice, record = consented_voice(org, admin, "Bench narrator", "Bench Owner")
    consent_services.enroll_voice(org, name="Bench unconsented", actor=admin,
                                  references=[consent_services.AudioUpload(reference_wav(), "ref2.wav")])
    now = timezone.now()
    for i in range(generations):  # history rows (their audio is not needed to render the list)
        Generation.objects.create(organisation=org, user=producer, voice=voice, consent=record, voice_ref=str(voice.pk),
                                  consent_ref=str(record.pk), status="succeeded", progress=1.0,
                                  text=f"Bench sentence number {i}.", text_hash=f"{i:064x}", characters=24,
                                  language="en", resolved_language="en", watermark_key=new_watermark_key(),
                                  duration_s=2.0, finished_at=now, engine="kokoro", quality_tier="standard")
    for i in range(audit_entries):
        record_audit("bench.event", actor=admin, organisation=org, target=("bench.thing", i), details={"i": i})
    verification = submit_verification(moderator, reference_wav(), "interview.wav")
    return {"producer": producer, "moderator": moderator, "admin": admin, "voice": voice, "record": record,
            "challenge": record.challenge, "verification": verification, "generation": Generation.objects.first()}


def _pages(data: dict) -> list[tuple[str, object, str, dict]]:
    from django.urls import reverse

    voice, verification = data["voice"], data["verification"]
    producer, moderator, admin = data["producer"], data["moderator"], data["admin"]
    return [
        ("login", None, reverse("web:login"), {}),
        ("studio", producer, reverse("web:studio"), {}),
        ("generation_status", producer, reverse("web:generation-status", args=[data["generation"].pk]), {}),
        ("voices", producer, reverse("web:voices"), {}),
        ("voice_detail", producer, reverse("web:voice", args=[voice.pk]), {}),
        ("consent_statement", admin, reverse("web:statement", args=[voice.pk, data["challenge"].pk]), {}),
        ("moderation_desk", moderator, reverse("web:moderation"), {}),
        ("evidence_report", moderator, reverse("web:verification", args=[verification.pk]), {}),
        ("audit_log", moderator, reverse("web:audit"), {}),
        ("audit_log_filtered", moderator, reverse("web:audit"), {"action": "bench.", "since": "2000-01-01"}),
        ("audit_chain_status", moderator, reverse("web:audit-chain"), {}),
        ("forbidden", producer, reverse("web:moderation"), {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--audit-entries", type=int, default=5000)
    parser.add_argument("--generations", type=int, default=200)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="voicegate-bench-ui-"))
    try:
        _setup_django(scratch)
        from django.test import Client

        started = time.perf_counter()
        data = _populate(args.audit_entries, args.generations)
        setup_s = time.perf_counter() - started
        results = {}
        for name, user, url, params in _pages(data):
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            if user is not None:
                client.force_login(user)
            client.get(url, params)  # warm-up: template compilation, first queries
            times = []
            for _ in range(args.repeat):
                begin = time.perf_counter()
                response = client.get(url, params)
                times.append((time.perf_counter() - begin) * 1000)
            results[name] = {"status": response.status_code, "median_ms": round(statistics.median(times), 1),
                             "max_ms": round(max(times), 1), "bytes": len(response.content)}
        worst = max(r["max_ms"] for r in results.values())
        print(json.dumps({
            "benchmark": "ui", "cores": os.cpu_count(), "database": "sqlite (embedded default)",
            "repeat": args.repeat, "audit_entries": args.audit_entries, "generations": args.generations,
            "setup_s": round(setup_s, 1), "pages": results, "worst_ms": worst, "budget_ms": BUDGET_MS,
            "all_under_budget": worst < BUDGET_MS,
        }, indent=2))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
