from __future__ import annotations

from consent import services
from voicegate.commands import JsonCommand

from . import _common


class Command(JsonCommand):
    help = ("Issue a fresh consent statement for the voice owner to read aloud (then record it and run "
            "consent_grant --challenge ID).")

    def add_arguments(self, parser):
        parser.add_argument("--voice", required=True)
        parser.add_argument("--owner", help="the owner's name (needed when the voice has no owner yet)")
        parser.add_argument("--languages", default="en", help="comma-separated language codes, e.g. zh,en")
        parser.add_argument("--uses", default="narration", help="comma-separated uses, e.g. narration,dubbing")
        parser.add_argument("--statement-language", default="en", choices=("en", "zh"))

    def run(self, **options):
        voice = _common.voice(options["voice"])
        owner = services.owner_named(voice.organisation, options["owner"]) if options.get("owner") else None
        challenge = services.issue_statement(voice, owner=owner, languages=_common.csv_list(options["languages"]),
                                             uses=_common.csv_list(options["uses"]),
                                             statement_language=options["statement_language"])
        return {"challenge_id": str(challenge.pk), "text": challenge.text, "expires_at": challenge.expires_at}

    def describe(self, result):
        return (f"Ask the owner to read this aloud and record it (statement {result['challenge_id']}, "
                f"valid until {result['expires_at']:%Y-%m-%d %H:%M} UTC):\n\n{result['text']}")
