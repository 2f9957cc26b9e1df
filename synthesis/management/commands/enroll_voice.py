from __future__ import annotations

from consent.models import Voice
from voicegate.commands import JsonCommand
from voicegate.errors import DomainError

from synthesis import services
from synthesis.models import EnrollmentStatus

from ._progress import ProgressBar
from .synthesize import _user, _voice


class Command(JsonCommand):
    help = ("Enroll a consented voice for the engine (search a voice profile that sounds like the owner's "
            "reference clips) and cache it; progress on stderr.")

    def add_arguments(self, parser):
        parser.add_argument("--voice", required=True, help="voice id")
        parser.add_argument("--budget-s", type=float, default=None,
                            help="search time budget in seconds, 1-300 (default SYNTHESIS_ENROLLMENT_BUDGET_S)")
        parser.add_argument("--force", action="store_true", help="enroll again even if a profile is cached")
        parser.add_argument("--user", help="username to record in the audit log (default: the first admin)")

    def run(self, **options):
        voice: Voice = _voice(options["voice"])
        user = _user(voice.organisation, options.get("user"))
        bar = ProgressBar("enrolling", stream=self.stderr._out)
        artifact = services.start_enrollment(voice, user, budget_s=options.get("budget_s"), run_now=True,
                                             force=options["force"], on_progress=lambda f, note: bar.update(f, note))
        if artifact.status != EnrollmentStatus.READY:
            raise DomainError(f"enrollment {artifact.status}: {artifact.error or 'see the logs'}")
        bar.update(1.0)
        return {"voice_id": str(voice.pk), "status": artifact.status, "engine": artifact.engine,
                "similarity": artifact.similarity, "baseline_similarity": artifact.baseline_similarity,
                "elapsed_s": artifact.elapsed_s, "budget_s": artifact.budget_s}

    def describe(self, result):
        return (f"voice {result['voice_id']} enrolled ({result['engine']}): similarity {result['similarity']} "
                f"(best stock voice {result['baseline_similarity']}) in {result['elapsed_s']} s")
