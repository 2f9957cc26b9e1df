"""Verification jobs survive a crashed worker like synthesis jobs: a renewed lease, a reaper, one result."""
from __future__ import annotations

import io
import json
import signal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from safety import services
from safety.models import ModerationItem, Verification, VerificationStatus
from tests.workers import killable_workers, release_workers, start_worker, stop_worker, wait_for
from voicegate.audit.models import AuditEntry

from .conftest import RATE, wav


def _queued(tenant, narration, settings) -> Verification:
    """A long upload, stored and queued; its job is not run (enqueue waits for a commit that never comes)."""
    settings.VERIFY_SYNC_SECONDS = 1
    with transaction.atomic():
        return services.submit_verification(tenant.moderator.user, wav(narration[:3 * RATE]), "clip.wav")


def _running(verification, *, expired: bool, attempts: int = 1) -> None:
    delta = timezone.timedelta(seconds=-5 if expired else 60)
    Verification.objects.filter(pk=verification.pk).update(status=VerificationStatus.RUNNING, attempts=attempts,
                                                           lease_expires_at=timezone.now() + delta)


def _results(verification) -> tuple[int, int]:
    """(moderation items, verification.completed audit entries) of one verification."""
    return (ModerationItem.objects.filter(verification=verification).count(),
            AuditEntry.objects.filter(action="verification.completed", target_id=str(verification.pk)).count())


@pytest.mark.django_db
def test_a_live_lease_keeps_a_duplicate_delivery_away_and_a_finished_one_is_never_run_again(tenant, narration,
                                                                                           settings, monkeypatch):
    verification = _queued(tenant, narration, settings)
    _running(verification, expired=False)
    examined = []
    monkeypatch.setattr(services, "examine_clip", lambda *a, **k: examined.append(1))
    held = services.run_verification(verification.pk, leased=True)  # a duplicate delivery: another worker holds it
    assert held.status == VerificationStatus.RUNNING and held.attempts == 1 and examined == []
    monkeypatch.undo()
    _running(verification, expired=True)
    done = services.run_verification(verification.pk, leased=True)  # the lease ran out: taken over
    assert done.status == VerificationStatus.DONE and done.attempts == 2 and done.lease_expires_at is None
    monkeypatch.setattr(services, "examine_clip", lambda *a, **k: examined.append(1))
    assert services.run_verification(verification.pk, leased=True).attempts == 2 and examined == []
    assert _results(verification) == (1, 1)


@pytest.mark.django_db
def test_the_reaper_requeues_expired_verifications_and_fails_them_past_the_attempt_limit(
        tenant, narration, settings, django_capture_on_commit_callbacks):
    settings.SYNTHESIS_MAX_ATTEMPTS = 2
    requeue, give_up, alive = (_queued(tenant, narration, settings) for _ in range(3))
    _running(requeue, expired=True, attempts=1)
    _running(give_up, expired=True, attempts=2)
    _running(alive, expired=False, attempts=1)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # the re-queued job runs (eager) once committed
        call_command("reap_jobs", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"requeued": [], "failed": [], "enrollments_requeued": [],
                                          "enrollments_failed": [], "verifications_requeued": [str(requeue.pk)],
                                          "verifications_failed": [str(give_up.pk)]}
    requeue.refresh_from_db(), give_up.refresh_from_db(), alive.refresh_from_db()
    assert requeue.status == VerificationStatus.DONE and requeue.attempts == 2 and requeue.upload.name == ""
    assert give_up.status == VerificationStatus.FAILED and "gave up after 2 attempts" in give_up.error
    assert give_up.upload.name == ""  # the upload of a job given up on is not kept
    assert alive.status == VerificationStatus.RUNNING
    assert AuditEntry.objects.filter(action="verification.requeued", target_id=str(requeue.pk)).count() == 1
    assert AuditEntry.objects.filter(action="verification.failed", target_id=str(give_up.pk)).count() == 1
    assert _results(requeue) == (1, 1) and _results(give_up) == (0, 0)


@pytest.mark.django_db
def test_a_late_worker_whose_verification_was_taken_over_records_nothing(tenant, narration, settings, monkeypatch):
    verification = _queued(tenant, narration, settings)
    real_examine = services.examine_clip
    taken_over = []

    def examine_while_the_job_is_taken_over(*args, **kwargs):
        if not taken_over:  # this (first) worker stalls; its lease runs out and another worker finishes the job
            taken_over.append(1)
            Verification.objects.filter(pk=verification.pk).update(
                lease_expires_at=timezone.now() - timezone.timedelta(seconds=1))
            assert services.run_verification(verification.pk, leased=True).status == VerificationStatus.DONE
        return real_examine(*args, **kwargs)

    monkeypatch.setattr(services, "examine_clip", examine_while_the_job_is_taken_over)
    late = services.run_verification(verification.pk, leased=True)
    assert late.status == VerificationStatus.DONE and late.attempts == 2
    assert _results(verification) == (1, 1)


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_verification_whose_worker_is_killed_completes_once_on_a_new_worker(tenant, narration, settings, tmp_path):
    """SIGKILL the default-queue worker mid-verification; a new worker reaps the expired lease and finishes it once."""
    from django.db import connection

    env = killable_workers(settings, connection, tmp_path / "media", "default")
    settings.VERIFY_SYNC_SECONDS = 1
    slow = start_worker(env, "default", slow=True)  # pauses 30 s before examining the clip
    fresh = None
    try:
        verification = services.submit_verification(tenant.moderator.user, wav(narration[:3 * RATE]), "clip.wav")
        upload_name = verification.upload.name
        wait_for(lambda: Verification.objects.filter(pk=verification.pk, status="running", attempts=1).exists(),
                 60, "the slow worker to be mid-job")
        stop_worker(slow, signal.SIGKILL)
        assert Verification.objects.get(pk=verification.pk).status == VerificationStatus.RUNNING
        fresh = start_worker(env, "default", slow=False)
        # The upload is deleted just after the verdict commits: wait for both.
        done = wait_for(lambda: Verification.objects.filter(pk=verification.pk, status="done", upload="").first(), 90,
                        "the new worker to finish the verification")
        assert done.attempts == 2 and done.verdict and done.report["clip"]["duration_s"] == pytest.approx(3, abs=0.1)
        assert _results(done) == (1, 1)
        assert AuditEntry.objects.filter(action="verification.requeued", target_id=str(done.pk)).count() == 1
        assert not (tmp_path / "media" / upload_name).exists()
    finally:
        release_workers("default", slow, fresh)
