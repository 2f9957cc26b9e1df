"""Jobs survive a crashed worker: a lease the worker renews, and a reaper that takes expired jobs back."""
from __future__ import annotations

import io
import json
import signal

import pytest
from django.core.management import call_command
from django.utils import timezone

from synthesis import services
from synthesis.models import Generation, GenerationStatus
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import grant, stored_outputs
from tests.workers import killable_workers, release_workers, start_worker, stop_worker, wait_for
from voicegate.audit.models import AuditEntry

KOREAN = "안녕하세요. 오늘은 날씨가 좋습니다. 우리는 공원에 갑니다. 저녁에는 집에 돌아옵니다. 내일 또 만나요. 감사합니다."


def _running_with_lease(generation, *, expired: bool, attempts: int = 1):
    delta = timezone.timedelta(seconds=-5 if expired else 60)
    Generation.objects.filter(pk=generation.pk).update(status=GenerationStatus.RUNNING, attempts=attempts,
                                                       lease_expires_at=timezone.now() + delta)


def _request(tenant, voice, text="Good morning."):
    from django.db import transaction

    with transaction.atomic():  # enqueue waits for a commit the test transaction never makes: nothing runs
        return Generation.objects.get(pk=services.request_synthesis(
            user=tenant.producer.user, voice=voice, text=text, language="en").pk)


@pytest.mark.django_db
def test_a_live_lease_keeps_a_duplicate_delivery_away(tenant, ready_voice, settings):
    settings.JOBS_IN_PROCESS = "eager"
    generation = _request(tenant, ready_voice)
    _running_with_lease(generation, expired=False)
    assert services.claim_generation(generation.pk, leased=True) is None
    _running_with_lease(generation, expired=True)
    taken = services.claim_generation(generation.pk, leased=True)
    assert taken is not None and taken.attempts == 2 and taken.lease_expires_at > timezone.now()


@pytest.mark.django_db
def test_the_reaper_requeues_expired_jobs_and_fails_them_past_the_attempt_limit(tenant, ready_voice, settings,
                                                                                django_capture_on_commit_callbacks):
    settings.SYNTHESIS_MAX_ATTEMPTS = 2
    requeue, give_up, alive = (_request(tenant, ready_voice) for _ in range(3))
    _running_with_lease(requeue, expired=True, attempts=1)
    _running_with_lease(give_up, expired=True, attempts=2)
    _running_with_lease(alive, expired=False, attempts=1)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # the re-queued job runs (eager) once committed
        call_command("reap_jobs", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"requeued": [str(requeue.pk)], "failed": [str(give_up.pk)],
                                          "enrollments_requeued": [], "enrollments_failed": [],
                                          "verifications_requeued": [], "verifications_failed": []}
    requeue.refresh_from_db(), give_up.refresh_from_db(), alive.refresh_from_db()
    assert requeue.status == GenerationStatus.SUCCEEDED and requeue.attempts == 2
    assert give_up.status == GenerationStatus.FAILED and "gave up after 2 attempts" in give_up.error
    assert alive.status == GenerationStatus.RUNNING
    assert AuditEntry.objects.filter(action="synthesis.requeued", target_id=str(requeue.pk)).count() == 1


@pytest.mark.django_db
def test_the_reaper_requeues_an_enrollment_whose_worker_died_and_gives_up_past_the_limit(
        tenant, voice, consent, settings, django_capture_on_commit_callbacks):
    from synthesis.models import EnrollmentStatus, VoiceProfileArtifact

    settings.SYNTHESIS_MAX_ATTEMPTS = 2
    artifact = VoiceProfileArtifact.objects.create(voice=voice, status=EnrollmentStatus.RUNNING, attempts=1,
                                                   lease_expires_at=timezone.now() - timezone.timedelta(seconds=5))
    with django_capture_on_commit_callbacks() as callbacks:  # the re-queued enrollment is not run here
        reaped = services.reap_expired_generations()
    assert reaped["enrollments_requeued"] == [str(artifact.pk)] and len(callbacks) == 1
    artifact.refresh_from_db()
    assert artifact.status == EnrollmentStatus.QUEUED and artifact.lease_expires_at is None
    assert AuditEntry.objects.filter(action="synthesis.enrollment_requeued").count() == 1
    waiting = _request(tenant, voice)  # a job waiting behind the enrollment
    assert waiting.waiting_for_enrollment
    VoiceProfileArtifact.objects.filter(pk=artifact.pk).update(
        status=EnrollmentStatus.RUNNING, attempts=2, lease_expires_at=timezone.now() - timezone.timedelta(seconds=5))
    assert services.reap_expired_generations()["enrollments_failed"] == [str(artifact.pk)]
    waiting.refresh_from_db()
    assert waiting.status == GenerationStatus.FAILED and "gave up after 2 attempts" in waiting.error


@pytest.mark.django_db
def test_a_late_worker_whose_job_was_taken_over_writes_no_output(tenant, ready_voice):
    generation = _request(tenant, ready_voice)
    first = services.claim_generation(generation.pk, leased=True)
    Generation.objects.filter(pk=generation.pk).update(lease_expires_at=timezone.now() - timezone.timedelta(seconds=1))
    second = services.claim_generation(generation.pk, leased=True)  # the reaped job, on another worker
    samples = services.pipeline.np.ones(24000, dtype="float32") * 0.01
    late = services.complete_generation(first, samples, 24000)
    assert late.status == GenerationStatus.RUNNING and stored_outputs(tenant) == []  # the old attempt is fenced
    done = services.complete_generation(second, samples, 24000)
    assert done.status == GenerationStatus.SUCCEEDED and stored_outputs(tenant) == [done.audio.name]


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_completes_once_on_a_new_worker(tenant, voice, settings, tmp_path):
    """SIGKILL the whole worker mid-job; a new worker reaps the expired lease and finishes the job, once."""
    from django.db import connection

    env = killable_workers(settings, connection, tmp_path / "media", "synthesis")
    grant(voice, languages=("ko",))  # Korean is spoken by espeak-ng: no enrollment needed
    slow = start_worker(env, "synthesis", slow=True)
    fresh = None
    try:
        generation = services.request_synthesis(user=tenant.producer.user, voice=voice, text=KOREAN, language="ko")
        wait_for(lambda: Generation.objects.filter(pk=generation.pk, status="running", progress__gt=0).exists(),
                 90, "the slow worker to be mid-job")
        stop_worker(slow, signal.SIGKILL)  # the whole worker, as the tester did
        assert Generation.objects.get(pk=generation.pk).status == GenerationStatus.RUNNING
        fresh = start_worker(env, "synthesis", slow=False)
        done = wait_for(lambda: Generation.objects.filter(pk=generation.pk, status="succeeded").first(), 90,
                        "the new worker to finish the job")
        assert done.attempts == 2 and done.duration_s > 3
        assert stored_outputs(tenant) == [done.audio.name]
        assert AuditEntry.objects.filter(action="synthesis.completed", target_id=str(done.pk)).count() == 1
        assert AuditEntry.objects.filter(action="synthesis.requeued", target_id=str(done.pk)).count() == 1
    finally:
        release_workers("synthesis", slow, fresh)
