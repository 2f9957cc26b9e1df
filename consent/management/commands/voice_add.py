from __future__ import annotations

from consent import services
from voicegate.commands import JsonCommand

from . import _common


class Command(JsonCommand):
    help = "Enroll a voice from reference recordings (quality-checked and screened against protected voices)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation id or name")
        parser.add_argument("--name", required=True, help="display name of the voice")
        parser.add_argument("--reference", action="append", required=True, metavar="FILE",
                            help="reference recording (repeat for several)")
        parser.add_argument("--owner", help="the voice owner's name (found or created in the organisation)")

    def run(self, **options):
        organisation = _common.organisation(options["org"])
        uploads = [_common.read_upload(path) for path in options["reference"]]
        owner = services.owner_named(organisation, options["owner"]) if options.get("owner") else None
        self.progress(f"checking {len(uploads)} reference recording(s)...")
        voice = services.enroll_voice(organisation, name=options["name"], owner=owner, references=uploads)
        return {"voice_id": str(voice.pk), "quality": voice.quality_report}

    def describe(self, result):
        clips = result["quality"].get("clips", [])
        lines = [f"voice {result['voice_id']} enrolled from {len(clips)} reference clip(s)"]
        for number, clip in enumerate(clips, start=1):
            lines.append(f"  clip {number}: {clip['duration_s']:.1f} s at {clip['sample_rate']} Hz, "
                         f"speech {clip['speech_ratio']:.0%}, SNR {clip['snr_db']:.0f} dB")
        return "\n".join(lines)
