from __future__ import annotations

from consent import services
from voicegate.commands import JsonCommand

from . import _common


class Command(JsonCommand):
    help = "Erase a voice: revoke its consents, delete its reference and statement audio and embeddings."

    def add_arguments(self, parser):
        parser.add_argument("--voice", required=True)
        parser.add_argument("--reason", default="the owner asked for erasure")

    def run(self, **options):
        voice = _common.voice(options["voice"])
        details = services.erase_voice(voice, reason=options["reason"])
        return {"voice_id": str(voice.pk), "status": "erased", "deleted_files": details["deleted_files"]}

    def describe(self, result):
        return f"voice {result['voice_id']} erased; {len(result['deleted_files'])} file(s) deleted (hashes audited)"
