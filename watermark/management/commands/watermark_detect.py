"""manage.py watermark_detect IN --json -> {"detected", "confidence", "payload", "segments", ...}"""
from __future__ import annotations

from typing import Any

from voicegate.audio import decode_audio
from voicegate.commands import JsonCommand
from watermark.services import provenance_engine


class Command(JsonCommand):
    help = "Look for a watermark in an audio file (engine level, no database)."

    def add_arguments(self, parser):
        parser.add_argument("input", help="audio file in any common format")

    def run(self, **options: Any) -> dict[str, Any]:
        audio = decode_audio(options["input"])
        return {**provenance_engine().detect(audio.samples, audio.sample_rate).as_dict(),
                "duration_s": round(audio.duration_s, 3)}
