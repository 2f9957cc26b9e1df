"""Celery tasks: thin wrappers around synthesis.services (idempotent by design, see there)."""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@shared_task(name="synthesis.run_generation", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_generation(self, generation_id: str) -> str | None:
    from synthesis.services import execute_generation

    # On a worker the job holds a lease it renews; in-process (eager, threads) there is no reaper.
    generation = execute_generation(generation_id, task_id=self.request.id or "",
                                    heartbeat=not self.request.is_eager)
    return generation.status if generation is not None else None


@shared_task(name="synthesis.reap_expired_jobs")
def reap_expired_jobs() -> dict:
    """Re-queue or fail jobs (syntheses, enrollments, verifications) whose worker died (also for celery beat)."""
    from voicegate.jobs import reap_expired_jobs as reap

    return reap()


def _reap_forever(interval_s: float) -> None:
    from django.db import close_old_connections

    from voicegate.jobs import reap_expired_jobs as reap

    while True:
        try:
            close_old_connections()
            reaped = reap()
            if any(reaped.values()):
                logger.warning("reaped jobs whose worker stopped: %s", reaped)
        except Exception:  # a database hiccup must not stop the reaper for good
            logger.exception("reaping expired jobs failed")
        threading.Event().wait(interval_s)


@worker_ready.connect
def start_reaper(sender=None, **kwargs) -> None:
    """Every worker reaps once at start (jobs of the worker it replaces) and then periodically."""
    from django.conf import settings

    interval = float(getattr(settings, "SYNTHESIS_REAPER_INTERVAL_S", 30))
    threading.Thread(target=_reap_forever, args=(interval,), name="job-reaper", daemon=True).start()


@shared_task(name="synthesis.enroll_voice", bind=True, acks_late=True, reject_on_worker_lost=True)
def enroll_voice(self, artifact_id: str) -> str | None:
    from synthesis.services import execute_enrollment

    artifact = execute_enrollment(artifact_id, heartbeat=not self.request.is_eager)
    return artifact.status if artifact is not None else None
