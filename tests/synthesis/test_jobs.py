"""Synthesis jobs: states, progress, cancellation, a killed worker's retry, consent signals, enrollment."""
from __future__ import annotations

import re

import pytest

from consent import services as consent_services
from safety.models import RegisteredClip
from synthesis import services
from synthesis.models import Generation, GenerationStatus, VoiceProfileArtifact
from synthesis.signals import generation_completed
from synthesis.tasks import run_generation
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import SHORT_TEXT, assert_marked_for, decode, grant, stored_outputs
from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: not an Exception, so no handler in the task sees it."""


def create(tenant, voice, text=SHORT_TEXT, **extra) -> Generation:
    return services.request_synthesis(user=tenant.producer.user, voice=voice, text=text, language="en", **extra)


def completions() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="synthesis.completed"))


@pytest.fixture
def signal_log():
    sent: list[Generation] = []

    def listener(sender, generation, samples, sample_rate, **kwargs):
        sent.append(generation)

    generation_completed.connect(listener, dispatch_uid="test-signal-log")
    yield sent
    generation_completed.disconnect(dispatch_uid="test-signal-log")


def test_job_goes_queued_then_succeeded_with_one_marked_labelled_signed_output(
        tenant, ready_voice, django_capture_on_commit_callbacks, signal_log, signing):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        generation = create(tenant, ready_voice)
    assert generation.status == GenerationStatus.QUEUED and generation.progress == 0
    for callback in callbacks:  # the worker picks the job up
        callback()
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.SUCCEEDED and generation.progress == 1.0, generation.error
    assert generation.attempts == 1 and generation.celery_task_id
    assert re.fullmatch(rf"generations/{generation.organisation_id}/output_\d{{8}}_\d{{6}}_{generation.pk}\.wav",
                        generation.audio.name)
    assert stored_outputs(tenant) == [generation.audio.name]
    data = services.read_output(generation)
    samples, rate = decode(data)
    assert rate == 24000 and 1.0 < samples.size / rate < 8.0
    assert abs(generation.duration_s - samples.size / rate) < 0.05
    assert_marked_for(samples, rate, generation)
    from watermark.labels import read_labels

    labels = read_labels(data)
    assert labels["ai_generated"] is True and labels["generation_id"] == str(generation.pk)
    from watermark.manifest import read_manifest

    manifest = read_manifest(data, "wav", trust_anchors_pem=open(signing["root_cert"]).read())
    assert manifest.valid and manifest.trusted and generation.manifest["signed"]
    assert manifest.assertion["generation_id"] == str(generation.pk)
    assert manifest.assertion["consent_record_sha256"] == services.consent_reference(generation)
    assert [g.pk for g in signal_log] == [generation.pk]
    # audited with the text's hash, never the text
    requested = AuditEntry.objects.get(action="synthesis.requested", target_id=str(generation.pk))
    assert requested.details["text_sha256"] == generation.text_hash
    assert requested.details["consent_record"] == str(generation.consent_id)
    assert SHORT_TEXT not in str(requested.details) and SHORT_TEXT not in str(completions()[0].details)


def test_a_finished_job_is_never_run_again(tenant, ready_voice, signal_log):
    generation = create(tenant, ready_voice)
    services.execute_generation(generation.pk)
    first = Generation.objects.get(pk=generation.pk)
    run_generation.apply(args=[str(generation.pk)])  # a duplicate delivery
    again = Generation.objects.get(pk=generation.pk)
    assert again.attempts == first.attempts == 1 and again.audio.name == first.audio.name
    assert len(completions()) == 1 and len(signal_log) == 1 and len(stored_outputs(tenant)) == 1


def test_cancelling_a_queued_job_means_it_never_produces_audio(tenant, ready_voice):
    generation = create(tenant, ready_voice)
    response = tenant.producer.client.post(f"/api/v1/syntheses/{generation.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    run_generation.apply(args=[str(generation.pk)])
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.CANCELLED and not generation.audio and stored_outputs(tenant) == []
    again = tenant.producer.client.post(f"/api/v1/syntheses/{generation.pk}/cancel/")
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]
    assert tenant.producer.client.get(f"/api/v1/syntheses/{generation.pk}/audio/").status_code == 409


def test_cancelling_a_running_job_stops_it_at_the_next_sentence(tenant, ready_voice, engine_log, monkeypatch):
    text = "First sentence is here. Second sentence follows. Third one ends it. A fourth for good measure."
    generation = create(tenant, ready_voice, text=text)
    real_progress = services._report_progress

    def cancel_after_first(generation_id, fraction):
        if engine_log.inferences == 1:
            services.cancel_generation(Generation.objects.get(pk=generation_id), reason="test")
        real_progress(generation_id, fraction)

    monkeypatch.setattr(services, "_report_progress", cancel_after_first)
    services.execute_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.CANCELLED
    assert engine_log.inferences == 1  # sentences 2-4 were never synthesized
    assert not generation.audio and stored_outputs(tenant) == [] and completions() == []


def test_a_worker_killed_mid_job_is_retried_into_exactly_one_output(tenant, ready_voice, engine_log, monkeypatch,
                                                                     signal_log):
    generation = create(tenant, ready_voice, text="One sentence first. Then another one. And the last.")
    engine = services.get_engine("kokoro")
    real_infer = engine.infer
    crashes = {"left": 1}

    def infer_then_die(*args, **kwargs):
        audio = real_infer(*args, **kwargs)
        if engine_log.inferences >= 2 and crashes["left"]:
            crashes["left"] -= 1
            raise WorkerKilled()
        return audio

    monkeypatch.setattr(engine, "infer", infer_then_die)
    with pytest.raises(WorkerKilled):
        run_generation.apply(args=[str(generation.pk)])
    crashed = Generation.objects.get(pk=generation.pk)
    assert crashed.status == GenerationStatus.RUNNING and crashed.attempts == 1 and 0 < crashed.progress < 1
    assert stored_outputs(tenant) == []

    run_generation.apply(args=[str(generation.pk)])  # the broker redelivers the unacknowledged task
    done = Generation.objects.get(pk=generation.pk)
    assert done.status == GenerationStatus.SUCCEEDED and done.attempts == 2
    assert stored_outputs(tenant) == [done.audio.name]
    assert len(completions()) == 1 and [g.pk for g in signal_log] == [done.pk]
    assert RegisteredClip.objects.filter(generation_id=done.pk).count() == 1
    assert_marked_for(*decode(services.read_output(done)), done)


def test_a_worker_killed_after_storing_the_file_but_before_commit_leaves_one_file(tenant, ready_voice,
                                                                                  monkeypatch, signal_log):
    generation = create(tenant, ready_voice)
    # SIGKILL runs no cleanup: the stored file survives the rolled-back transaction.
    monkeypatch.setattr(services, "_delete_quietly", lambda name: None)
    crashes = {"left": 1}

    def die_in_transaction(sender, **kwargs):
        if crashes["left"]:
            crashes["left"] -= 1
            raise WorkerKilled()

    generation_completed.connect(die_in_transaction, dispatch_uid="test-die")
    try:
        with pytest.raises(WorkerKilled):
            run_generation.apply(args=[str(generation.pk)])
        assert len(stored_outputs(tenant)) == 1  # the orphan
        assert Generation.objects.get(pk=generation.pk).status == GenerationStatus.RUNNING
        assert completions() == [] and not RegisteredClip.objects.filter(generation_id=generation.pk).exists()
        run_generation.apply(args=[str(generation.pk)])
    finally:
        generation_completed.disconnect(dispatch_uid="test-die")
    done = Generation.objects.get(pk=generation.pk)
    assert done.status == GenerationStatus.SUCCEEDED
    assert stored_outputs(tenant) == [done.audio.name] and len(completions()) == 1
    assert len(signal_log) == 2 and Generation.objects.filter(status="succeeded").count() == 1
    assert RegisteredClip.objects.filter(generation_id=done.pk).count() == 1  # one fingerprint (safety's receiver)


def test_a_job_that_keeps_killing_its_worker_fails_after_the_attempt_limit(tenant, ready_voice, settings):
    settings.SYNTHESIS_MAX_ATTEMPTS = 2
    generation = create(tenant, ready_voice)
    Generation.objects.filter(pk=generation.pk).update(status=GenerationStatus.RUNNING, attempts=2)
    run_generation.apply(args=[str(generation.pk)])
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.FAILED and "gave up after 2 attempts" in generation.error


def test_consent_expiring_while_queued_fails_the_job_with_the_reason(tenant, ready_voice, consent):
    generation = create(tenant, ready_voice)
    consent.expires_at = consent.valid_from
    consent.save()
    services.execute_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.FAILED and "expired on" in generation.error
    assert stored_outputs(tenant) == []
    assert AuditEntry.objects.filter(action="synthesis.failed", target_id=str(generation.pk)).exists()


def test_revoking_consent_cancels_queued_jobs_and_deletes_the_enrollment(
        tenant, ready_voice, consent, django_capture_on_commit_callbacks):
    generation = create(tenant, ready_voice)
    artifact = VoiceProfileArtifact.objects.get(voice=ready_voice)
    profile_file = artifact.profile_file.name
    from django.core.files.storage import default_storage

    assert default_storage.exists(profile_file)
    with django_capture_on_commit_callbacks(execute=True):
        consent_services.revoke_consent(consent, actor=tenant.admin.user, reason="owner withdrew")
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.CANCELLED and "revoked" in generation.error
    assert not VoiceProfileArtifact.objects.filter(voice=ready_voice).exists()
    assert not default_storage.exists(profile_file)
    services.execute_generation(generation.pk)  # a late worker delivery does nothing
    assert Generation.objects.get(pk=generation.pk).status == GenerationStatus.CANCELLED


def test_erasing_a_voice_cancels_its_jobs_and_keeps_the_generation_record(tenant, ready_voice):
    generation = create(tenant, ready_voice)
    consent_services.erase_voice(ready_voice, actor=tenant.admin.user)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.CANCELLED
    assert generation.voice_ref == str(ready_voice.pk)
    assert not VoiceProfileArtifact.objects.filter(voice=ready_voice).exists()


@pytest.fixture
def quick_search(monkeypatch):
    """The style search itself (minutes at full budget) is tested in test_enrollment.py; the job layer is
    tested here with a stand-in that must accept the real function's arguments and returns its result type."""
    import inspect

    from synthesis import enrollment
    from synthesis.engines.kokoro import stock_profile

    real_signature = inspect.signature(enrollment.enroll_voice)
    calls: list[dict] = []

    def quick(reference_clips, **kwargs):
        real_signature.bind(reference_clips, **kwargs)
        calls.append({"clips": reference_clips, **kwargs})
        for fraction in (0.0, 0.5, 1.0):
            kwargs["progress"](fraction, "searching")
            if fraction == 0.0:  # what a poller sees while the search runs
                calls[-1]["seen"] = list(VoiceProfileArtifact.objects.values_list("progress", "progress_message"))
        return enrollment.EnrollmentResult(stock_profile("jf_alpha"), similarity_before=0.52, similarity_after=0.71,
                                           best_stock_voice="jf_alpha", evaluations=3)

    monkeypatch.setattr(enrollment, "enroll_voice", quick)
    return calls


def test_enrollment_job_builds_and_caches_a_profile_with_progress(tenant, voice, consent, quick_search,
                                                                  django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    client = tenant.producer.client
    url = f"/api/v1/voices/{voice.pk}/enrollment/"
    assert client.get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"budget_s": 2}, format="json")
    assert response.status_code in (200, 202), response.content
    status = client.get(url).json()
    assert status["status"] == "ready" and status["progress"] == 1.0, status
    assert status["similarity"] == 0.71 and status["baseline_similarity"] == 0.52 and status["budget_s"] == 2
    # the owner's stored reference clips, decoded, went into the search with the budget
    [call] = quick_search
    assert len(call["clips"]) == 2 and call["budget_s"] == 2 and call["language"] == "en"
    assert call["seen"] == [(0.0, "searching")] and status["progress_message"] == ""  # what it did, then done
    assert call["languages"] == ["en", "zh", "ja"]  # native prosody for each language the consent covers
    artifact = VoiceProfileArtifact.objects.get(voice=voice)
    assert default_storage.exists(artifact.profile_file.name)
    assert services.load_profile(voice).metadata["stock_voice"] == "jf_alpha"
    again = client.post(url, {}, format="json")  # cached: not enrolled twice
    assert again.status_code == 200 and len(quick_search) == 1
    assert client.post(url, {"budget_s": 900}, format="json").status_code == 400
    assert AuditEntry.objects.filter(action="synthesis.enrollment_completed", target_id=str(voice.pk)).exists()


def test_a_job_for_an_unenrolled_voice_waits_for_its_enrollment_on_its_own_queue(
        tenant, voice, consent, quick_search, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = tenant.producer.client.post("/api/v1/syntheses/", {"voice": str(voice.pk), "text": "Hello there.",
                                                                      "language": "en"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and "waiting for the voice's enrollment" in body["waiting_for"]
    assert VoiceProfileArtifact.objects.get(voice=voice).status == "queued" and quick_search == []
    assert len(callbacks) == 1  # the enrollment job only: the synthesis is not enqueued yet
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:  # the enrollment worker runs; its completion releases the job
            callback()
    generation = Generation.objects.get(pk=body["id"])
    assert generation.status == GenerationStatus.SUCCEEDED and not generation.waiting_for_enrollment
    assert len(quick_search) == 1 and VoiceProfileArtifact.objects.get(voice=voice).status == "ready"
    assert tenant.producer.client.get(f"/api/v1/syntheses/{generation.pk}/").json()["waiting_for"] is None


def test_a_synthesis_job_never_enrolls_in_line(tenant, voice, consent, quick_search):
    generation = create(tenant, voice)  # as if released while the enrollment was deleted meanwhile
    Generation.objects.filter(pk=generation.pk).update(waiting_for_enrollment=False)
    services.execute_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.FAILED and "enroll it first" in generation.error
    assert quick_search == []


def test_a_failed_enrollment_fails_the_jobs_waiting_for_it(tenant, voice, consent, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    from synthesis import enrollment

    def broken(*args, **kwargs):
        raise services.DomainError("the references are too short for the style search")

    monkeypatch.setattr(enrollment, "enroll_voice", broken)
    with django_capture_on_commit_callbacks(execute=True):
        generation = create(tenant, voice)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.FAILED
    assert generation.error == "the voice's enrollment failed: the references are too short for the style search"


def test_a_consent_becoming_valid_starts_the_enrollment(tenant, voice, quick_search, settings,
                                                        django_capture_on_commit_callbacks):
    from consent.models import ConsentRecord, ConsentStatus

    settings.SYNTHESIS_ENROLL_ON_CONSENT = True
    record = grant(voice)
    ConsentRecord.objects.filter(pk=record.pk).update(status=ConsentStatus.CONTENT_UNVERIFIED)  # awaiting approval
    assert not VoiceProfileArtifact.objects.filter(voice=voice).exists()
    with django_capture_on_commit_callbacks(execute=True):
        consent_services.approve_consent(record, actor=tenant.admin.user)
    assert VoiceProfileArtifact.objects.get(voice=voice).status == "ready" and len(quick_search) == 1


def test_enrollment_needs_a_valid_consent(tenant, voice):
    response = tenant.producer.client.post(f"/api/v1/voices/{voice.pk}/enrollment/", {}, format="json")
    assert response.status_code == 403 and "consent" in response.json()["error"]
    assert not VoiceProfileArtifact.objects.filter(voice=voice).exists()


def test_enrollment_fits_only_the_languages_the_consent_covers(tenant, voice, quick_search):
    grant(voice, languages=("ja",))
    artifact = services.start_enrollment(voice, tenant.producer.user, budget_s=2, run_now=True)
    assert artifact.status == "ready", artifact.error
    [call] = quick_search
    assert call["language"] == "ja" and call["languages"] == ["ja"]  # no time spent on English or Mandarin
