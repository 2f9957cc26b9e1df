from __future__ import annotations

from consent import services
from consent.models import StatementChallenge
from voicegate.commands import JsonCommand
from voicegate.errors import NotFound

from . import _common


class Command(JsonCommand):
    help = ("Record a consent from the owner's recorded statement. With --challenge (from consent_statement) "
            "the statement's words are checked too; without it the statement is generated now, after the "
            "recording was made, so its content cannot be checked and the consent lands as content_unverified "
            "until an admin approves it (consent_approve).")

    def add_arguments(self, parser):
        parser.add_argument("--voice", required=True)
        parser.add_argument("--owner", required=True, help="the voice owner's name")
        parser.add_argument("--statement-recording", required=True, metavar="FILE")
        parser.add_argument("--challenge", help="id of the statement issued by consent_statement that was read")
        parser.add_argument("--languages", default="en", help="comma-separated, e.g. zh,en")
        parser.add_argument("--uses", default="narration", help="comma-separated, e.g. narration,dubbing")
        parser.add_argument("--expires", help="YYYY-MM-DD (the consent is valid through that day)")

    def run(self, **options):
        voice = _common.voice(options["voice"])
        owner = services.owner_named(voice.organisation, options["owner"])
        services.assign_owner(voice, owner)
        upload = _common.read_upload(options["statement_recording"])
        if options.get("challenge"):
            challenge = StatementChallenge.objects.filter(pk=_uuid(options["challenge"]), voice=voice).first()
            if challenge is None:
                raise NotFound(f"no statement {options['challenge']!r} for this voice")
            checkable = True
        else:
            challenge = services.issue_statement(voice, languages=_common.csv_list(options["languages"]),
                                                 uses=_common.csv_list(options["uses"]))
            checkable = False
        self.progress("verifying the statement recording...")
        record = services.grant_consent(voice, statement=upload, challenge=challenge,
                                        expires_at=_common.parse_date(options.get("expires")),
                                        content_checkable=checkable)
        return {"consent_id": str(record.pk), "status": record.status,
                "speaker_similarity": record.speaker_similarity, "reason": record.reason}

    def describe(self, result):
        line = f"consent {result['consent_id']}: {result['status']} (speaker similarity {result['speaker_similarity']})"
        return line + (f"\n{result['reason']}" if result["reason"] else "")


def _uuid(value):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no statement {value!r} for this voice") from None
