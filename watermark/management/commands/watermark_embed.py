"""manage.py watermark_embed IN OUT [--payload HEX] --json -> {"payload", "path", "duration_s", ...}"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from voicegate.audio import OUTPUT_FORMATS, decode_audio, encode_audio
from voicegate.commands import JsonCommand
from voicegate.errors import DomainError
from watermark.management.commands._audio_io import parse_payload
from watermark.services import provenance_engine


class Command(JsonCommand):
    help = "Watermark an audio file with a 32-bit payload (engine level, no database)."

    def add_arguments(self, parser):
        parser.add_argument("input", help="audio file in any common format")
        parser.add_argument("output", help="output file; its extension picks the format (wav, flac, mp3, ogg, m4a)")
        parser.add_argument("--payload", help="8 hex digits (32 bits); random when omitted")

    def run(self, **options: Any) -> dict[str, Any]:
        payload = parse_payload(options.get("payload"))
        out = Path(options["output"])
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in OUTPUT_FORMATS:
            raise DomainError(f"cannot write {out.name}: the extension must be one of {', '.join(OUTPUT_FORMATS)}")
        audio = decode_audio(options["input"])
        engine = provenance_engine()
        marked = engine.embed(audio.samples, audio.sample_rate, payload[:engine.payload_bytes])
        out.write_bytes(encode_audio(marked, audio.sample_rate, fmt))
        return {"payload": payload[:engine.payload_bytes].hex(), "path": str(out), "format": fmt,
                "engine": engine.name, "sample_rate": audio.sample_rate, "duration_s": round(audio.duration_s, 3)}
