from __future__ import annotations

from consent import services
from voicegate.commands import JsonCommand

from . import _common


class Command(JsonCommand):
    help = "Revoke every active consent of a voice, at once (queued jobs are cancelled)."

    def add_arguments(self, parser):
        parser.add_argument("--voice", required=True)
        parser.add_argument("--reason", required=True)

    def run(self, **options):
        voice = _common.voice(options["voice"])
        revoked = services.revoke_voice_consents(voice, reason=options["reason"])
        return {"consent_id": str(revoked[0].pk), "status": revoked[0].status,
                "revoked": [str(record.pk) for record in revoked]}

    def describe(self, result):
        return f"revoked {len(result['revoked'])} consent(s): {', '.join(result['revoked'])}"
