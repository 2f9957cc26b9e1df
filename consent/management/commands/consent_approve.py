from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model

from consent import services
from consent.models import ConsentRecord
from voicegate.commands import JsonCommand
from voicegate.errors import NotFound


class Command(JsonCommand):
    help = "Approve a consent whose statement content could not be checked, after listening to it."

    def add_arguments(self, parser):
        parser.add_argument("--consent", required=True)
        parser.add_argument("--admin", required=True, help="username of the approving admin (audited)")

    def run(self, **options):
        try:
            record = ConsentRecord.objects.filter(pk=uuid.UUID(options["consent"])).first()
        except ValueError:
            record = None
        if record is None:
            raise NotFound(f"no consent with id {options['consent']!r}")
        admin = get_user_model().objects.filter(username=options["admin"]).first()
        if admin is None:
            raise NotFound(f"no user {options['admin']!r}")
        record = services.approve_consent(record, actor=admin)
        return {"consent_id": str(record.pk), "status": record.status}
