from __future__ import annotations

import time
import uuid
from pathlib import Path

from consent.models import Voice
from consent.gate import assert_can_synthesize
from voicegate.accounts.models import Membership, Organisation, Role
from voicegate.accounts.selectors import member_named, organisation_named
from voicegate.commands import JsonCommand
from voicegate.errors import DomainError, NotFound

from synthesis import pipeline, services
from synthesis.models import EnrollmentStatus, VoiceProfileArtifact

from ._progress import ProgressBar


class Command(JsonCommand):
    help = ("Synthesize TEXT in a consented voice through the same consent gate and provenance pipeline as the "
            "API (watermark, labels, signed manifest, audit); writes the labelled file to --out. A voice that "
            "has not been enrolled yet is enrolled first (cached; see enroll_voice). --stock-voice NAME uses one "
            "of the engine's stock voices instead, which needs no consent (no one's voice is cloned).")

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--voice", help="id of an enrolled voice")
        which.add_argument("--stock-voice", metavar="NAME",
                           help="name of a stock voice (e.g. jf_alpha; GET /api/v1/stock-voices/ lists them); "
                                "needs --org")
        parser.add_argument("--org", help="with --stock-voice: the organisation (name, slug or id) it is made for")
        parser.add_argument("--text", required=True, help="the text (up to 10,000 characters)")
        parser.add_argument("--out", required=True, metavar="FILE", help="where to write the audio")
        parser.add_argument("--language", default="auto", help="auto, zh, en, ja, yue, ... (default auto)")
        parser.add_argument("--instruct", default="", help="e.g. 'slowly', 'calm', '快一点'")
        parser.add_argument("--speed", type=float, default=1.0, help="0.5 to 2.0")
        parser.add_argument("--user", help="username requesting it (default: the organisation's first admin)")
        parser.add_argument("--format", choices=pipeline.REQUEST_FORMATS,
                            help="wav, mp3, ogg or flac (default: from --out's suffix, else wav)")
        parser.add_argument("--use", default="narration", help="the use, which the consent must cover")
        parser.add_argument("--audible-label", action="store_true", default=None,
                            help="prepend the audible AI cue (default: the organisation's setting)")

    def run(self, **options):
        started = time.monotonic()
        stock_voice = options.get("stock_voice")
        if stock_voice:
            voice = None
            user = _stock_voice_user(options.get("org"), options.get("user"))
        else:
            if options.get("org"):
                raise DomainError("--org goes with --stock-voice; an enrolled voice's organisation is its own")
            voice = _voice(options["voice"])
            user = _user(voice.organisation, options.get("user"))
        out = Path(options["out"])
        fmt = options.get("format") or (out.suffix.lstrip(".").lower() if out.suffix else "wav")
        pipeline.check_format(fmt)
        if not out.parent.exists():
            raise DomainError(f"the folder {out.parent} does not exist")
        if voice is not None:
            self._enroll_if_needed(voice, user, options)
        bar = ProgressBar("synthesizing", stream=self.stderr._out)
        generation = services.synthesize_now(
            user=user, voice=voice, stock_voice=stock_voice, text=options["text"], language=options["language"],
            instruct=options["instruct"], speed=options["speed"], use=options["use"], output_format=fmt,
            audible_label=options.get("audible_label"), on_progress=bar.update)
        bar.update(1.0)
        out.write_bytes(services.read_output(generation))
        return {"generation_id": str(generation.pk), "path": str(out.resolve()), "duration_s": generation.duration_s,
                "watermark_payload": generation.watermark_payload.hex(),
                "elapsed_s": round(time.monotonic() - started, 3), "language": generation.resolved_language,
                "format": generation.output_format, "engine": generation.engine,
                "voice": generation.voice_ref or None, "stock_voice": generation.stock_voice or None}

    def _enroll_if_needed(self, voice, user, options) -> None:
        artifact = VoiceProfileArtifact.objects.filter(voice=voice).first()
        if artifact is not None and artifact.status == EnrollmentStatus.READY:
            return
        text = options["text"]
        language = pipeline.resolve_language(text, options["language"]) if text.strip() else "en"
        if not pipeline.get_engine(pipeline.language_info(language).engine).clones_voice:
            return
        assert_can_synthesize(voice, user, language, options["use"])  # refuse before minutes of work
        bar = ProgressBar("enrolling the voice", stream=self.stderr._out)
        artifact = services.start_enrollment(voice, user, run_now=True, on_progress=lambda f, note: bar.update(f))
        if artifact.status != EnrollmentStatus.READY:
            raise DomainError(f"the voice could not be enrolled: {artifact.error}")

    def describe(self, result):
        voice = f", stock voice {result['stock_voice']}" if result.get("stock_voice") else ""
        return (f"wrote {result['path']} ({result['duration_s']:.2f} s, {result['language']}{voice}, AI-labelled, "
                f"watermark {result['watermark_payload']}) in {result['elapsed_s']:.1f} s; "
                f"generation {result['generation_id']}")


def _voice(value: str) -> Voice:
    try:
        found = Voice.objects.select_related("organisation").filter(pk=uuid.UUID(value)).first()
    except ValueError:
        found = None
    if found is None:
        raise NotFound(f"no voice with id {value!r}")
    return found


def _user(organisation: Organisation, username: str | None):
    if username:
        membership = member_named(organisation, username)
        if membership is None:
            raise NotFound(f"no member {username!r} in the organisation {organisation.name!r}")
        return membership.user
    membership = (Membership.objects.filter(organisation=organisation, role=Role.ADMIN)
                  .select_related("user").order_by("created_at").first())
    if membership is None:
        raise NotFound(f"the organisation {organisation.name!r} has no admin; pass --user")
    return membership.user


def _stock_voice_user(org: str | None, username: str | None):
    """Who a stock-voice generation is made for: --user (a member of --org), else --org's first admin.

    Usernames are unique per organisation only, so the organisation is always named.
    """
    if not org:
        raise DomainError("--stock-voice needs --org ORG: the organisation the output is made for")
    organisation = organisation_named(org)
    if organisation is None:
        raise NotFound(f"no organisation named {org!r}")
    return _user(organisation, username)
