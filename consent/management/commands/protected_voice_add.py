from __future__ import annotations

from consent import services
from voicegate.commands import JsonCommand

from . import _common


class Command(JsonCommand):
    help = "Protect a voice from enrollment: for every organisation (default) or for one (--org)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--reference", action="append", required=True, metavar="FILE")
        parser.add_argument("--org", help="organisation id or name (omit for a global protected voice)")

    def run(self, **options):
        organisation = _common.organisation(options["org"]) if options.get("org") else None
        protected = services.add_protected_voice(
            organisation=organisation, name=options["name"], reason=options["reason"],
            references=[_common.read_upload(path) for path in options["reference"]])
        return {"protected_voice_id": str(protected.pk), "global": organisation is None,
                "clips": len(protected.embeddings)}
