from __future__ import annotations

from voicegate.commands import JsonCommand

from synthesis import services


class Command(JsonCommand):
    help = ("Re-queue (or fail, past SYNTHESIS_MAX_ATTEMPTS) synthesis jobs and enrollments whose worker stopped "
            "renewing their lease; every Celery worker also does this at start and every "
            "SYNTHESIS_REAPER_INTERVAL_S.")

    def run(self, **options):
        return services.reap_expired_generations()

    def describe(self, result):
        return (f"synthesis jobs: re-queued {len(result['requeued'])}, failed {len(result['failed'])}; "
                f"enrollments: re-queued {len(result['enrollments_requeued'])}, "
                f"failed {len(result['enrollments_failed'])}")
