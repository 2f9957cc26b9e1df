"""manage.py verify_clip FILE [--org ORG] --json -> the evidence report (read-only: nothing is stored)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from voicegate.accounts.models import Organisation
from voicegate.commands import JsonCommand
from voicegate.errors import NotFound

from safety import conf
from safety.services import examine_clip


class Command(JsonCommand):
    help = ("Verify a clip: watermark, C2PA manifest and labels, fingerprint registry, voice identity, "
            "synthetic-speech detector, verdict. "
            "Without --org it runs as the platform operator (every organisation's voices, full details).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="audio or video file")
        parser.add_argument("--org", help="verify as this organisation (name, slug or id): its voices, its view of "
                                          "other organisations' generations")

    def run(self, **options: Any) -> dict[str, Any]:
        path = Path(options["file"])
        if not path.is_file():
            raise NotFound(f"file not found: {path}")
        if path.stat().st_size > conf.max_bytes():
            from voicegate.errors import PayloadTooLarge

            raise PayloadTooLarge(f"the file is {path.stat().st_size / 1e6:.1f} MB; at most "
                                  f"{conf.max_bytes() / 1e6:.0f} MB is accepted (VERIFY_MAX_BYTES)")
        organisation = _organisation(options.get("org"))
        self.progress(f"verifying {path.name}")
        return examine_clip(path.read_bytes(), organisation=organisation, filename=path.name).body

    def describe(self, result: dict[str, Any]) -> str:
        lines = [f"verdict: {result['verdict']}", result["explanation"]]
        if result.get("generation_id"):
            lines.append(f"generation: {result['generation_id']}")
        for match in result.get("voice_matches", []):
            lines.append(f"voice match ({match['kind']}): {match['name']} {match['similarity']}")
        synthetic = result.get("synthetic_speech") or {}
        if synthetic:
            lines.append(f"synthetic speech: {synthetic.get('reason')}")
        return "\n".join(lines)


def _organisation(ref: str | None):
    if not ref:
        return None
    found = (Organisation.objects.filter(name=ref).first() or Organisation.objects.filter(slug=ref).first())
    if found is None:
        try:
            found = Organisation.objects.filter(pk=ref).first()
        except Exception:  # not a UUID
            found = None
    if found is None:
        raise NotFound(f"no organisation named {ref!r}")
    return found
