from voicegate.commands import JsonCommand
from voicegate.jobs import reap_expired_jobs


class Command(JsonCommand):
    help = ("Re-queue (or fail, past SYNTHESIS_MAX_ATTEMPTS) synthesis jobs, enrollments and verifications whose "
            "worker stopped renewing their lease; every Celery worker also does this at start and every "
            "SYNTHESIS_REAPER_INTERVAL_S.")

    def run(self, **options):
        return reap_expired_jobs()

    def describe(self, result):
        return (f"synthesis jobs: re-queued {len(result['requeued'])}, failed {len(result['failed'])}; "
                f"enrollments: re-queued {len(result['enrollments_requeued'])}, "
                f"failed {len(result['enrollments_failed'])}; "
                f"verifications: re-queued {len(result['verifications_requeued'])}, "
                f"failed {len(result['verifications_failed'])}")
