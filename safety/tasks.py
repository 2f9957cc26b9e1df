"""Celery tasks of safety: long verifications, webhook deliveries with retries, registry compaction."""
from __future__ import annotations

from celery import shared_task

from voicegate.errors import DomainError

from .webhooks import MAX_ATTEMPTS, attempt_delivery


@shared_task(name="safety.run_verification", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_verification_job(self, verification_id: str) -> str | None:
    from .services import run_verification

    try:
        # On a worker the job holds a lease it renews; in-process (eager, threads) there is no reaper.
        verification = run_verification(verification_id, leased=not self.request.is_eager)
    except DomainError as exc:  # recorded on the verification; nothing to retry
        return f"failed: {exc.message}"
    return verification.verdict or verification.status if verification is not None else None


@shared_task(bind=True, name="safety.deliver_webhook", max_retries=MAX_ATTEMPTS - 1)
def deliver_webhook(self, delivery_id: str) -> bool:
    if attempt_delivery(delivery_id):
        return True
    # Exponential back-off: 30 s, 60 s, 120 s, 240 s (eager mode retries at once).
    raise self.retry(countdown=30 * 2 ** self.request.retries)


@shared_task(name="safety.compact_fingerprint_registry")
def compact_fingerprint_registry() -> int:
    from .services import compact_fingerprints

    return compact_fingerprints()
