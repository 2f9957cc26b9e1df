"""Celery tasks: thin wrappers around synthesis.services (idempotent by design, see there)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="synthesis.run_generation", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_generation(self, generation_id: str) -> str | None:
    from synthesis.services import execute_generation

    generation = execute_generation(generation_id, task_id=self.request.id or "")
    return generation.status if generation is not None else None


@shared_task(name="synthesis.enroll_voice", bind=True, acks_late=True, reject_on_worker_lost=True)
def enroll_voice(self, artifact_id: str) -> str | None:
    from synthesis.services import execute_enrollment

    artifact = execute_enrollment(artifact_id)
    return artifact.status if artifact is not None else None
