from __future__ import annotations

import uuid

from consent import services
from consent.models import ConsentRecord
from voicegate.accounts.selectors import member_named
from voicegate.commands import JsonCommand
from voicegate.errors import NotFound


class Command(JsonCommand):
    help = "Approve a consent whose statement content could not be checked, after listening to it."

    def add_arguments(self, parser):
        parser.add_argument("--consent", required=True)
        parser.add_argument("--admin", required=True,
                            help="username of the approving admin in the consent's organisation (audited)")

    def run(self, **options):
        try:
            record = ConsentRecord.objects.filter(pk=uuid.UUID(options["consent"])).first()
        except ValueError:
            record = None
        if record is None:
            raise NotFound(f"no consent with id {options['consent']!r}")
        membership = member_named(record.organisation, options["admin"])
        if membership is None:
            raise NotFound(f"no member {options['admin']!r} in the consent's organisation {record.organisation.name!r}")
        record = services.approve_consent(record, actor=membership.user)
        return {"consent_id": str(record.pk), "status": record.status}
