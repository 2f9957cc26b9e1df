"""Every write about generations and voice enrollments, and the rules they follow.

Creating a generation: cheap checks (length, format, speed, language, instruction) -> consent
gate (consent.gate.assert_can_synthesize; not for a stock voice of the engine, synthesis.stock,
which is no person's voice) -> Generation row + audit, one transaction -> job enqueued after
commit. Running it (``execute_generation``, from the Celery task, the streaming view, /tts and
the command alike): claim under SELECT ... FOR UPDATE -> pipeline (synthesis.pipeline) -> one
output file + generation_completed + audit in one transaction.

Idempotency (a worker killed mid-job is redelivered, CELERY_TASK_ACKS_LATE): the claim skips a
generation that is already final; the output name is fixed per generation (created_at + id),
so a retry overwrites a crashed attempt's leftover file instead of adding a second one; and
the completion (status, fingerprint via the signal, audit) commits atomically, so it happens
once or not at all.
"""
from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import ConsentRecord, ConsentStatus, Voice
from consent.selectors import reference_audio
from consent.gate import ConsentRefused, assert_can_synthesize
from voicegate.accounts.selectors import membership_of, organisation_of
from voicegate.audio import decode_audio
from voicegate.audit.services import record_audit
from voicegate.errors import Conflict, DomainError, NotFound, PermissionDenied
from voicegate.jobs import LeaseHeartbeat, enqueue, lease_until, max_attempts, revoke

from synthesis import pipeline, stock
from synthesis.engines import UnsupportedLanguage, available_languages, get_engine, language_info
from synthesis.models import (ACTIVE_STATUSES, WATERMARK_KEY_MAX, Delivery, EnrollmentStatus, Generation,
                              GenerationStatus, VoiceProfileArtifact)
from synthesis.pipeline import SynthesisRequest
from synthesis.profile import VoiceProfile
from synthesis.signals import generation_completed

logger = logging.getLogger(__name__)


class GenerationCancelled(Exception):
    """Raised inside a running job when its generation was cancelled meanwhile."""


# --------------------------------------------------------------------------- settings
def enrollment_budget_s() -> float:
    return float(getattr(settings, "SYNTHESIS_ENROLLMENT_BUDGET_S", 300.0))


# --------------------------------------------------------------------------- naming
def output_name(generation: Generation, fmt: str | None = None) -> str:
    """``generations/<org>/output_YYYYMMDD_HHMMSS_<id>.<fmt>``: fixed per generation (retries reuse it)."""
    stamp = generation.created_at.strftime("%Y%m%d_%H%M%S")
    return f"generations/{generation.organisation_id}/output_{stamp}_{generation.pk}.{fmt or generation.output_format}"


def profile_name(voice_id: Any) -> str:
    return f"voice-profiles/{voice_id}.npz"


def new_watermark_key() -> int:
    """A random, unused 32-bit payload (0 is never used: it reads like an unmarked default)."""
    for _ in range(20):
        key = secrets.randbelow(WATERMARK_KEY_MAX) + 1
        if not Generation.objects.filter(watermark_key=key).exists():
            return key
    raise Conflict("could not allocate a free watermark key; try again")


def consent_reference(generation: Generation) -> str:
    """The hash reference to the consent record that manifests carry (never the record itself)."""
    from watermark.services import consent_hash

    return consent_hash({"consent_record_id": generation.consent_ref, "voice_id": generation.voice_ref,
                         "organisation_id": str(generation.organisation_id)})


# --------------------------------------------------------------------------- creation
def _resolve_audible_label(flag: bool | None, organisation) -> bool:
    """The job's own choice, else the organisation's default for the audible AI cue."""
    if flag is not None:
        return bool(flag)
    return bool(getattr(organisation, "audible_label_default", False))


class VoiceChoiceRequired(DomainError):
    code = "voice_required"


def require_one_voice(voice: Any, stock_voice: str | None) -> None:
    """400 unless exactly one of an enrolled voice (object or id) and a stock voice's name is given."""
    if (voice is None) == (not stock_voice):
        what = "both were given" if voice is not None else "neither was given"
        raise VoiceChoiceRequired(f"give exactly one of voice (the id of an enrolled voice) or stock_voice (the name "
                                  f"of a stock voice, GET /api/v1/stock-voices/); {what}",
                                  details={"fields": ["voice", "stock_voice"]})


def request_synthesis(*, user, voice: Voice | None = None, stock_voice: str | None = None, text: str,
                      language: str = "auto", instruct: str = "", speed: float = 1.0, use: str = "narration",
                      output_format: str = "wav", audible_label: bool | None = None, delivery: str = Delivery.JOB,
                      require_enrolled: bool = False) -> Generation:
    """Check, gate, record and (for ``delivery="job"``) enqueue one synthesis.

    The voice is either ``voice`` (an enrolled voice of the caller's organisation, behind the
    consent gate) or ``stock_voice`` (the name of one of the engine's stock voices, synthesis.stock),
    exactly one of them.

    Raises DomainError subclasses with a user-facing reason: VoiceChoiceRequired (neither or both),
    UnknownStockVoice, TextTooLong/EmptyText, UnsupportedFormat, InvalidSynthesisOption (speed),
    UnsupportedLanguage, UnsupportedInstruction, NotFound (another organisation's voice) and
    ConsentRefused (403). Nothing is written when it raises (a consent refusal is audited, nothing else).
    """
    organisation = organisation_of(user)
    require_one_voice(voice, stock_voice)
    if voice is not None and voice.organisation_id != organisation.pk:
        raise NotFound("no such voice in your organisation")
    chosen_stock = stock.stock_voice(stock_voice) if stock_voice else None
    request = SynthesisRequest(text=text, language=language or "auto", instruct=(instruct or "").strip(),
                               speed=float(speed), use=use or "narration",
                               output_format=pipeline.check_format(output_format),
                               audible_label=_resolve_audible_label(audible_label, organisation),
                               default_language=(chosen_stock.language if chosen_stock else None) or "en")
    resolved = pipeline.check_request(request)
    digest = pipeline.text_hash(text)
    info = language_info(resolved)
    consent: ConsentRecord | None = None
    waiting = False
    if chosen_stock is not None:
        # No consent gate for a stock voice, and only for one: it is a voice the engine ships (made by the
        # model's authors), not derived from any person's recording, so synthesizing with it clones no one's
        # voice and there is no owner whose consent could be asked. Everything else is as for an enrolled
        # voice: text checks, rate limits, watermark, AI labels, signed manifest, fingerprint, audit.
        assert_stock_voice_speaks(chosen_stock, info)
    else:
        try:
            consent = assert_can_synthesize(voice, user, resolved, request.use)
        except ConsentRefused as refusal:
            with transaction.atomic():
                record_audit("synthesis.refused", actor=user, organisation=organisation, target=voice,
                             details={"reason": refusal.message, "text_sha256": digest, "language": resolved,
                                      "use": request.use})
            raise
        if require_enrolled or delivery != Delivery.JOB:
            # Synchronous and streamed deliveries answer now: they cannot wait minutes for an enrollment.
            assert_enrolled_for(voice, resolved)
        else:
            waiting = not is_enrolled_for(voice, resolved)
    with transaction.atomic():
        generation = Generation(
            organisation=organisation, user=user, voice=voice, consent=consent,
            voice_ref=str(voice.pk) if voice is not None else "", consent_ref=str(consent.pk) if consent else "",
            stock_voice=chosen_stock.name if chosen_stock else "",
            delivery=delivery, text=text, text_hash=digest, characters=len(text),
            language=request.language, resolved_language=resolved, instruct=request.instruct,
            speed=request.speed, use=request.use, output_format=request.output_format,
            audible_label=request.audible_label, engine=info.engine, quality_tier=info.tier,
            watermark_key=new_watermark_key(), waiting_for_enrollment=waiting)
        generation.full_clean()
        try:
            with transaction.atomic():
                generation.save()
        except IntegrityError:  # a concurrent request took the same key: draw again once
            generation.watermark_key = new_watermark_key()
            generation.save()
        who = ({"voice": None, "stock_voice": chosen_stock.name, "consent_record": None} if chosen_stock
               else {"voice": str(voice.pk), "consent_record": str(consent.pk)})
        record_audit("synthesis.requested", actor=user, organisation=organisation, target=generation,
                     details={**who, "text_sha256": digest,
                              "characters": len(text), "language": resolved, "instruct": request.instruct,
                              "speed": request.speed, "use": request.use, "format": request.output_format,
                              "audible_label": request.audible_label, "delivery": delivery,
                              "engine": info.engine, "tier": info.tier,
                              "watermark_payload": generation.watermark_payload.hex(),
                              "waiting_for_enrollment": waiting})
        if waiting:  # runs when the enrollment is ready (release_waiting_generations), on its own queue
            if start_enrollment(voice, user).status == EnrollmentStatus.READY:  # finished meanwhile
                release_waiting_generations(voice)
        elif delivery == Delivery.JOB:
            generation.celery_task_id = enqueue("synthesis.run_generation", str(generation.pk))
            generation.save(update_fields=["celery_task_id"])
    return generation


def assert_stock_voice_speaks(voice: stock.StockVoice, info) -> None:
    """A stock voice is the engine's own: refuse (400) a language another engine would speak."""
    if info.engine == stock.ENGINE:
        return
    own = [row.code for row in available_languages() if row.engine == stock.ENGINE]
    raise UnsupportedLanguage(
        f"{voice.description} is a voice of the {stock.ENGINE} engine, which does not speak {info.name} "
        f"({info.code}; the {info.engine} engine speaks it in its own generic voice); a stock voice can speak "
        f"{', '.join(own)}", details={"supported": own})


def release_waiting_generations(voice: Voice, *, failure: str | None = None) -> int:
    """The voice's enrollment finished: enqueue the jobs waiting for it, or fail them with ``failure``."""
    released = 0
    waiting = Generation.objects.select_for_update().filter(voice=voice, waiting_for_enrollment=True,
                                                            status=GenerationStatus.QUEUED)
    for generation in waiting:
        generation.waiting_for_enrollment = False
        if failure:
            generation.save(update_fields=["waiting_for_enrollment"])
            _mark_failed(generation, f"the voice's enrollment failed: {failure}")
            continue
        generation.celery_task_id = enqueue("synthesis.run_generation", str(generation.pk))
        generation.save(update_fields=["waiting_for_enrollment", "celery_task_id"])
        released += 1
    return released


# --------------------------------------------------------------------------- running
def claim_generation(generation_id: Any, task_id: str = "", *, leased: bool = False) -> Generation | None:
    """Mark the generation running (attempt + 1) or return None when there is nothing to do.

    ``leased`` (a Celery worker, which renews it) gives the attempt a lease of SYNTHESIS_LEASE_S;
    in-process runs have none (no other process could take them over).

    A generation already succeeded, failed or cancelled is never run again (a redelivered task
    after a crash that came after the commit). One found 'running' with a live lease belongs to
    another worker (a duplicate delivery): left alone. One found 'running' whose lease ran out is
    a redelivery after a killed worker: it is taken over, up to SYNTHESIS_MAX_ATTEMPTS attempts.
    """
    with transaction.atomic():
        generation = (Generation.objects.select_for_update().select_related("organisation")
                      .filter(pk=generation_id).first())
        if generation is None or generation.status not in ACTIVE_STATUSES:
            return None
        now = timezone.now()
        if generation.status == GenerationStatus.RUNNING and generation.lease_expires_at is not None \
                and generation.lease_expires_at > now:
            return None
        if generation.attempts >= max_attempts():
            _mark_failed(generation, f"gave up after {generation.attempts} attempts (the worker stopped each time)")
            return None
        generation.status = GenerationStatus.RUNNING
        generation.attempts += 1
        generation.progress = 0.0
        generation.started_at = generation.started_at or now
        generation.lease_expires_at = lease_until() if leased else None
        if task_id:
            generation.celery_task_id = task_id
        generation.save(update_fields=["status", "attempts", "progress", "started_at", "lease_expires_at",
                                       "celery_task_id"])
    return generation


def reap_expired_generations() -> dict[str, list[str]]:
    """Re-queue (or fail, past SYNTHESIS_MAX_ATTEMPTS) background jobs whose worker stopped renewing their lease.

    Runs when a worker starts and every SYNTHESIS_REAPER_INTERVAL_S in each worker
    (synthesis.tasks), and from ``manage.py reap_jobs``. Safe to run anywhere, any number of
    times at once: each job is taken under its row lock, and outputs stay exactly-once because
    a late worker's attempt no longer matches the job's (complete_generation checks it).
    """
    reaped: dict[str, list[str]] = {"requeued": [], "failed": []}
    expired = Generation.objects.filter(status=GenerationStatus.RUNNING, delivery=Delivery.JOB,
                                        lease_expires_at__lt=timezone.now()).values_list("pk", flat=True)
    for generation_id in list(expired[:100]):
        with transaction.atomic():
            generation = Generation.objects.select_for_update().filter(
                pk=generation_id, status=GenerationStatus.RUNNING, lease_expires_at__lt=timezone.now()).first()
            if generation is None:
                continue
            if generation.attempts >= max_attempts():
                _mark_failed(generation, f"gave up after {generation.attempts} attempts (the worker stopped each time)")
                reaped["failed"].append(str(generation.pk))
                continue
            generation.status = GenerationStatus.QUEUED
            generation.progress = 0.0
            generation.lease_expires_at = None
            generation.celery_task_id = enqueue("synthesis.run_generation", str(generation.pk))
            generation.save(update_fields=["status", "progress", "lease_expires_at", "celery_task_id"])
            record_audit("synthesis.requeued", actor=None, organisation=generation.organisation_id, target=generation,
                         details={"reason": "the worker stopped renewing the job's lease",
                                  "attempts": generation.attempts})
            reaped["requeued"].append(str(generation.pk))
    reaped.update(_reap_expired_enrollments())
    return reaped


def _reap_expired_enrollments() -> dict[str, list[str]]:
    reaped: dict[str, list[str]] = {"enrollments_requeued": [], "enrollments_failed": []}
    expired = VoiceProfileArtifact.objects.filter(status=EnrollmentStatus.RUNNING,
                                                  lease_expires_at__lt=timezone.now()).values_list("pk", flat=True)
    for artifact_id in list(expired[:100]):
        outcome = _requeue_enrollment(artifact_id)
        if outcome:
            reaped[f"enrollments_{outcome}"].append(str(artifact_id))
    return reaped


def _requeue_enrollment(artifact_id: Any) -> str | None:
    """'requeued', 'failed' (past SYNTHESIS_MAX_ATTEMPTS) or None (its lease is no longer expired)."""
    with transaction.atomic():
        artifact = VoiceProfileArtifact.objects.select_for_update().select_related("voice").filter(
            pk=artifact_id, status=EnrollmentStatus.RUNNING, lease_expires_at__lt=timezone.now()).first()
        if artifact is None:
            return None
        if artifact.attempts >= max_attempts():
            _enrollment_failed(artifact_id, f"gave up after {artifact.attempts} attempts (the worker stopped "
                                            "each time)")
            return "failed"
        artifact.status = EnrollmentStatus.QUEUED
        artifact.lease_expires_at = None
        artifact.celery_task_id = enqueue("synthesis.enroll_voice", str(artifact.pk))
        artifact.save(update_fields=["status", "lease_expires_at", "celery_task_id"])
        record_audit("synthesis.enrollment_requeued", organisation=artifact.voice.organisation_id,
                     target=artifact.voice, details={"artifact": str(artifact.pk), "attempts": artifact.attempts,
                                                     "reason": "the worker stopped renewing the lease"})
    return "requeued"


def _report_progress(generation_id: Any, fraction: float) -> None:
    """Store progress; raise GenerationCancelled when the job was cancelled (or revoked) meanwhile."""
    updated = Generation.objects.filter(pk=generation_id, status=GenerationStatus.RUNNING).update(
        progress=round(min(max(fraction, 0.0), 1.0), 4))
    if not updated:
        raise GenerationCancelled(str(generation_id))


def _assert_still_allowed(generation: Generation) -> ConsentRecord | None:
    """Consent is checked again when the job runs: it may have been revoked while queued.

    A stock voice has no consent to check again (it clones no one, see request_synthesis): the
    requester must still be a member of the organisation and the engine must still have the voice.
    """
    if generation.stock_voice:
        membership = membership_of(generation.user)
        if membership is None or membership.organisation_id != generation.organisation_id:
            raise DomainError("the requesting user is no longer a member of the organisation")
        stock.stock_voice(generation.stock_voice)
        return None
    if generation.voice is None or generation.user is None:
        raise DomainError("the voice or the requesting user no longer exists")
    return assert_can_synthesize(generation.voice, generation.user, generation.resolved_language, generation.use)


def profile_for(generation: Generation, plan: pipeline.SynthesisPlan) -> VoiceProfile | None:
    """The voice's cached enrollment (Conflict when it is not ready: jobs wait for it, see request_synthesis),
    or the stock voice's style pack."""
    if generation.stock_voice:
        assert_stock_voice_speaks(stock.stock_voice(generation.stock_voice), plan.info)
        return stock.stock_voice_profile(generation.stock_voice)
    engine = get_engine(plan.engine_name)
    if not engine.clones_voice:
        return load_profile(generation.voice)  # basic engines only borrow the pitch, if any
    profile = load_profile(generation.voice)
    if profile is None:  # enrollment runs on its own queue, never inside a synthesis job
        assert_enrolled_for(generation.voice, plan.language)
    return profile


def package(generation: Generation, samples: np.ndarray, sample_rate: int, fmt: str) -> pipeline.PackagedOutput:
    """Labels and manifest of an enrolled voice's output carry its consent's hash; a stock voice's name it instead."""
    if generation.stock_voice:
        return pipeline.package_output(samples, sample_rate, fmt, generation_id=str(generation.pk),
                                       consent_sha256=None, watermark_payload=generation.watermark_payload,
                                       voice=generation.voice_description,
                                       extra={"stock_voice": generation.stock_voice})
    return pipeline.package_output(samples, sample_rate, fmt, generation_id=str(generation.pk),
                                   consent_sha256=consent_reference(generation),
                                   watermark_payload=generation.watermark_payload)


@dataclass
class PreparedRender:
    generation: Generation
    plan: pipeline.SynthesisPlan
    profile: VoiceProfile | None


def prepare_render(generation: Generation) -> PreparedRender:
    """Everything that can refuse, done before the first sample: consent again, front end, profile."""
    _assert_still_allowed(generation)
    plan = pipeline.plan_synthesis(SynthesisRequest(
        text=generation.text, language=generation.resolved_language, instruct=generation.instruct,
        speed=generation.speed, use=generation.use, output_format=generation.output_format,
        audible_label=generation.audible_label))
    Generation.objects.filter(pk=generation.pk).update(options=plan.describe_options())
    return PreparedRender(generation, plan, profile_for(generation, plan))


def render_pieces(prepared: PreparedRender,
                  on_progress: Callable[[float], None] | None = None) -> Iterator[np.ndarray]:
    """Marked PCM pieces of a claimed generation, sentence by sentence (progress stored as it goes)."""
    generation = prepared.generation

    def progress(step: pipeline.RenderProgress) -> None:
        _report_progress(generation.pk, 0.95 * step.fraction)
        if on_progress is not None:
            on_progress(step.fraction)

    yield from pipeline.render_marked(prepared.plan, prepared.profile, generation.watermark_payload,
                                      audible_label=generation.audible_label, on_progress=progress)


def execute_generation(generation_id: Any, *, task_id: str = "",
                       on_progress: Callable[[float], None] | None = None,
                       heartbeat: bool = False) -> Generation | None:
    """Run one generation to its single output. Safe to call again for the same id.

    ``heartbeat`` (Celery workers) keeps the job's lease renewed while it runs.
    """
    generation = claim_generation(generation_id, task_id, leased=heartbeat)
    if generation is None:
        return Generation.objects.filter(pk=generation_id).first()
    if heartbeat:
        with LeaseHeartbeat(generation.pk, Generation):
            return _execute_claimed(generation, generation_id, on_progress)
    return _execute_claimed(generation, generation_id, on_progress)


def _execute_claimed(generation: Generation, generation_id: Any,
                     on_progress: Callable[[float], None] | None) -> Generation:
    try:
        pieces = list(render_pieces(prepare_render(generation), on_progress))
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return complete_generation(generation, samples, pipeline.OUTPUT_SAMPLE_RATE)
    except GenerationCancelled:
        return Generation.objects.get(pk=generation_id)
    except DomainError as exc:
        return fail_generation(generation, exc.message)
    except Exception:
        logger.exception("generation %s failed", generation_id)
        return fail_generation(generation, "internal error while synthesizing; the team has been notified")


def complete_generation(generation: Generation, samples: np.ndarray, sample_rate: int) -> Generation:
    """Package, store and record the one output. A no-op when the job was cancelled meanwhile."""
    if samples.size == 0:
        raise DomainError("the engine produced no audio for this text")
    packaged = package(generation, samples, sample_rate, generation.output_format)
    name = output_name(generation, packaged.fmt)
    saved: str | None = None
    try:
        with transaction.atomic():
            locked = Generation.objects.select_for_update().get(pk=generation.pk)
            if locked.status != GenerationStatus.RUNNING or locked.attempts != generation.attempts:
                return locked  # cancelled, or reaped and taken over by a later attempt: not this one's output
            if default_storage.exists(name):  # left by an attempt that crashed before committing
                default_storage.delete(name)
            saved = default_storage.save(name, ContentFile(packaged.data))
            locked.audio.name = saved
            locked.audio_bytes = len(packaged.data)
            locked.duration_s = round(packaged.duration_s, 3)
            locked.sample_rate = sample_rate
            locked.labels = _json_safe(packaged.labels)
            locked.manifest = _json_safe(packaged.manifest)
            locked.status = GenerationStatus.SUCCEEDED
            locked.progress = 1.0
            locked.error = ""
            locked.finished_at = timezone.now()
            locked.lease_expires_at = None
            locked.save()
            generation_completed.send(sender=Generation, generation=locked, samples=samples, sample_rate=sample_rate)
            record_audit("synthesis.completed", actor=locked.user, organisation=locked.organisation_id,
                         target=locked, details={"voice": locked.voice_ref, "consent_record": locked.consent_ref,
                                                 **({"stock_voice": locked.stock_voice} if locked.stock_voice else {}),
                                                 "text_sha256": locked.text_hash, "output": saved,
                                                 "duration_s": locked.duration_s, "format": packaged.fmt,
                                                 "watermark_payload": locked.watermark_payload.hex(),
                                                 "attempts": locked.attempts,
                                                 "manifest_signed": bool(packaged.manifest.get("signed"))})
    except BaseException:
        if saved is not None:
            _delete_quietly(saved)
        raise
    return locked


def fail_generation(generation: Generation, message: str) -> Generation:
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status in ACTIVE_STATUSES:
            _mark_failed(locked, message)
    return locked


def _mark_failed(generation: Generation, message: str) -> None:
    generation.status = GenerationStatus.FAILED
    generation.error = message[:2000]
    generation.finished_at = timezone.now()
    generation.save(update_fields=["status", "error", "finished_at"])
    record_audit("synthesis.failed", actor=generation.user, organisation=generation.organisation_id,
                 target=generation, details={"reason": message[:500], "attempts": generation.attempts,
                                             "text_sha256": generation.text_hash})


def cancel_generation(generation: Generation, *, user=None, reason: str = "cancelled by the user") -> Generation:
    """Cancel a queued or running job. A running job stops at its next sentence, with no output."""
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status not in ACTIVE_STATUSES:
            raise Conflict(f"the generation is already {locked.status}; only queued or running jobs can be cancelled")
        locked.status = GenerationStatus.CANCELLED
        locked.error = reason
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "error", "finished_at"])
        record_audit("synthesis.cancelled", actor=user, organisation=locked.organisation_id, target=locked,
                     details={"reason": reason, "text_sha256": locked.text_hash})
        task_id = locked.celery_task_id
        transaction.on_commit(lambda: revoke(task_id))
    return locked


def open_stream(generation: Generation) -> Iterator[np.ndarray]:
    """Claim a stream-delivered generation and return an iterator of its marked pieces.

    Refusals (consent revoked since, bad text, not waiting to be streamed) raise here, before
    the HTTP response starts. The iterator stores the one output after the last piece; if the
    client goes away before the end, the generation fails and no partial output is kept.
    """
    claimed = claim_generation(generation.pk)
    if claimed is None:
        raise Conflict("this generation is not waiting to be streamed")
    try:
        prepared = prepare_render(claimed)
    except DomainError as exc:
        fail_generation(claimed, exc.message)
        raise
    return _stream_pieces(prepared)


def _stream_pieces(prepared: PreparedRender) -> Iterator[np.ndarray]:
    claimed = prepared.generation
    pieces: list[np.ndarray] = []
    finished = False
    try:
        for piece in render_pieces(prepared):
            pieces.append(piece)
            yield piece
        complete_generation(claimed, np.concatenate(pieces) if pieces else np.zeros(0, np.float32),
                            pipeline.OUTPUT_SAMPLE_RATE)
        finished = True
    except GenerationCancelled:
        finished = True
    except DomainError as exc:
        fail_generation(claimed, exc.message)
        finished = True
    finally:
        if not finished:
            fail_generation(claimed, "the stream was interrupted before the end; no output was kept")


def synthesize_now(*, user, voice: Voice | None = None, require_enrolled: bool = False,
                   on_progress: Callable[[float], None] | None = None, **request: Any) -> Generation:
    """Create and run a generation in this process (/tts, the command); returns it succeeded or raises.

    ``request`` may name ``stock_voice`` instead of ``voice`` (see request_synthesis).

    ``require_enrolled`` refuses (409) a voice whose enrollment is not ready rather than
    enrolling it now, for callers that cannot wait minutes (the synchronous /tts endpoint).
    """
    generation = request_synthesis(user=user, voice=voice, delivery=Delivery.SYNC, require_enrolled=require_enrolled,
                                   **request)
    result = execute_generation(generation.pk, on_progress=on_progress)
    if result is None or result.status != GenerationStatus.SUCCEEDED:
        message = (result.error if result is not None else "") or "the synthesis did not finish"
        raise DomainError(message, details={"generation_id": str(generation.pk)})
    return result


def is_enrolled_for(voice: Voice, language: str) -> bool:
    """Whether the voice can be spoken in ``language`` now (ready enrollment, or an engine that does not clone)."""
    if not get_engine(language_info(language).engine).clones_voice:
        return True
    return VoiceProfileArtifact.objects.filter(voice=voice, status=EnrollmentStatus.READY).exists()


def assert_enrolled_for(voice: Voice, language: str) -> None:
    """Conflict (409) unless the voice's enrollment is ready (or the language's engine does not clone voices)."""
    if is_enrolled_for(voice, language):
        return
    artifact = VoiceProfileArtifact.objects.filter(voice=voice).first()
    state = "has not been enrolled" if artifact is None else f"enrollment is {artifact.status}"
    raise Conflict(f"voice {voice.name!r} {state}; enroll it first (POST /api/v1/voices/{voice.pk}/enrollment/ "
                   "or manage.py enroll_voice), then try again")


def read_output(generation: Generation) -> bytes:
    if generation.status != GenerationStatus.SUCCEEDED or not generation.audio:
        raise Conflict(f"the generation is {generation.status}; audio exists only once it has succeeded")
    with default_storage.open(generation.audio.name, "rb") as handle:
        return handle.read()


def output_in_format(generation: Generation, fmt: str) -> bytes:
    """The output in ``fmt``: the stored file, or a re-encode of its (already marked) samples, relabelled."""
    fmt = pipeline.check_format(fmt)
    data = read_output(generation)
    if fmt == generation.output_format:
        return data
    decoded = decode_audio(data)
    return package(generation, decoded.samples, decoded.sample_rate, fmt).data


def _figures(measures: dict) -> dict[str, float]:
    """A judge's numeric figures as plain floats (4 decimals), for the report JSON."""
    return {name: round(float(value), 4) for name, value in measures.items()
            if isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value)}


def _json_safe(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # the storage may be the thing that failed; the retry overwrites anyway
        logger.warning("could not delete %s after a failed completion", name)


# --------------------------------------------------------------------------- enrollment
def load_profile(voice: Voice | None) -> VoiceProfile | None:
    if voice is None:
        return None
    artifact = VoiceProfileArtifact.objects.filter(voice=voice, status=EnrollmentStatus.READY).first()
    if artifact is None or not artifact.profile_file:
        return None
    with default_storage.open(artifact.profile_file.name, "rb") as handle:
        return VoiceProfile.from_bytes(handle.read())


def _usable_consent(voice: Voice) -> ConsentRecord:
    """Enrollment derives a model of the voice: it needs a current, verified consent (any scope)."""
    now = timezone.now()
    for record in ConsentRecord.objects.filter(voice=voice, status=ConsentStatus.VERIFIED):
        if record.valid_from <= now and not record.is_expired(now):
            return record
    raise ConsentRefused(f"voice {voice.name!r} has no verified, unexpired consent; it cannot be enrolled",
                         reason="no_consent", voice=voice)


def start_enrollment(voice: Voice, user, *, budget_s: float | None = None, run_now: bool = False,
                     force: bool = False,
                     on_progress: Callable[[float, str], None] | None = None) -> VoiceProfileArtifact:
    """Queue (or with ``run_now`` run inline) the voice's enrollment; a ready one is reused unless ``force``."""
    if voice.is_erased:
        raise Conflict("the voice has been erased")
    _usable_consent(voice)
    budget = float(budget_s if budget_s is not None else enrollment_budget_s())
    if not 1.0 <= budget <= 300.0:
        raise DomainError("the enrollment budget must be between 1 and 300 seconds")
    with transaction.atomic():
        artifact, created = VoiceProfileArtifact.objects.select_for_update().get_or_create(
            voice=voice, defaults={"budget_s": budget})
        if not created and artifact.status == EnrollmentStatus.READY and not force:
            return artifact
        if not created and artifact.status in (EnrollmentStatus.QUEUED, EnrollmentStatus.RUNNING) and not run_now:
            return artifact
        artifact.status = EnrollmentStatus.QUEUED
        artifact.progress = 0.0
        artifact.error = ""
        artifact.budget_s = budget
        artifact.save()
        record_audit("synthesis.enrollment_requested", actor=user, organisation=voice.organisation_id, target=voice,
                     details={"budget_s": budget, "artifact": str(artifact.pk)})
        if not run_now:
            artifact.celery_task_id = enqueue("synthesis.enroll_voice", str(artifact.pk))
            artifact.save(update_fields=["celery_task_id"])
    if run_now:
        execute_enrollment(artifact.pk, on_progress=on_progress)
        artifact.refresh_from_db()
    return artifact


def _reference_clips(voice: Voice) -> list[tuple[np.ndarray, int]]:
    clips = reference_audio(voice)
    if not clips:
        raise DomainError(f"voice {voice.name!r} has no reference recordings to enroll from")
    return clips


def execute_enrollment(artifact_id: Any, *, on_progress: Callable[[float, str], None] | None = None,
                       heartbeat: bool = False) -> VoiceProfileArtifact | None:
    """Build and cache the voice's engine profile. Safe to call again (a ready profile is kept).

    ``heartbeat`` (Celery workers): the run holds a lease it renews, as synthesis jobs do, so a
    killed worker's enrollment is re-queued by the reaper; a delivery finding a live lease leaves it.
    """
    with transaction.atomic():
        artifact = (VoiceProfileArtifact.objects.select_for_update().select_related("voice")
                    .filter(pk=artifact_id).first())
        if artifact is None or artifact.status == EnrollmentStatus.READY:
            return artifact
        now = timezone.now()
        if artifact.status == EnrollmentStatus.RUNNING and artifact.lease_expires_at is not None \
                and artifact.lease_expires_at > now:
            return artifact  # another worker holds it
        artifact.status = EnrollmentStatus.RUNNING
        artifact.attempts += 1
        artifact.lease_expires_at = lease_until() if heartbeat else None
        artifact.save(update_fields=["status", "attempts", "lease_expires_at"])
    if heartbeat:
        with LeaseHeartbeat(artifact.pk, VoiceProfileArtifact):
            return _run_enrollment(artifact, artifact_id, on_progress)
    return _run_enrollment(artifact, artifact_id, on_progress)


def _run_enrollment(artifact: VoiceProfileArtifact, artifact_id: Any,
                    on_progress: Callable[[float, str], None] | None) -> VoiceProfileArtifact | None:
    from synthesis.enrollment import enroll_voice

    voice = artifact.voice
    started = time.monotonic()
    last_saved = [0.0]

    def progress(fraction: float, message: str) -> None:
        if on_progress is not None:
            on_progress(fraction, message)
        now = time.monotonic()
        if now - last_saved[0] > 1.0:  # a row update per second is plenty for a progress bar
            last_saved[0] = now
            if not VoiceProfileArtifact.objects.filter(pk=artifact_id).update(progress=round(fraction, 3),
                                                                                progress_message=message[:200]):
                raise GenerationCancelled("enrollment deleted (consent revoked or voice erased)")

    try:
        _usable_consent(voice)
        clips = _reference_clips(voice)
        language, languages = _enrollment_languages(voice)
        result = enroll_voice(clips, budget_s=artifact.budget_s, progress=progress, language=language,
                              languages=languages)
    except GenerationCancelled:
        return None
    except DomainError as exc:
        return _enrollment_failed(artifact_id, exc.message)
    except Exception:
        logger.exception("enrollment %s failed", artifact_id)
        return _enrollment_failed(artifact_id, "internal error while enrolling the voice")
    name = profile_name(voice.pk)
    saved = None
    try:
        with transaction.atomic():
            locked = VoiceProfileArtifact.objects.select_for_update().filter(pk=artifact_id).first()
            if locked is None:  # deleted meanwhile (consent revoked): keep nothing
                return None
            if default_storage.exists(name):
                default_storage.delete(name)
            saved = default_storage.save(name, ContentFile(result.profile.to_bytes()))
            locked.profile_file.name = saved
            locked.engine = result.profile.engine
            locked.status = EnrollmentStatus.READY
            locked.lease_expires_at = None
            locked.progress, locked.progress_message = 1.0, ""
            locked.similarity = round(float(result.similarity_after), 4)
            locked.baseline_similarity = round(float(result.similarity_before), 4)
            locked.elapsed_s = round(time.monotonic() - started, 2)
            # Every judge's figures for the best stock voice, the result and the owner's own second
            # recording, so the voice page can show them side by side (web/voices/_enrollment.html).
            locked.report = _json_safe({"best_stock_voice": result.best_stock_voice, "start": result.start,
                                        "evaluations": result.evaluations, "vetoed": result.vetoed,
                                        "pitch_semitones": result.profile.pitch_semitones,
                                        "judges": {"stock": _figures(result.judges_before),
                                                   "enrolled": _figures(result.judges_after),
                                                   "owner": _figures(result.ceilings)}})
            locked.save()
            record_audit("synthesis.enrollment_completed", organisation=voice.organisation_id, target=voice,
                         details={"artifact": str(locked.pk), "engine": locked.engine,
                                  "similarity": locked.similarity, "baseline_similarity": locked.baseline_similarity,
                                  "elapsed_s": locked.elapsed_s})
            release_waiting_generations(voice)
    except BaseException:
        if saved is not None:
            _delete_quietly(saved)
        raise
    return locked


def _enrollment_languages(voice: Voice) -> tuple[str, list[str] | None]:
    """The language to search the voice in, and the languages the consent covers: native prosody is
    fitted for those only (a language the consent does not cover can never be synthesised, so its
    share of the budget goes to the main search)."""
    record = ConsentRecord.objects.filter(voice=voice, status=ConsentStatus.VERIFIED).first()
    languages = list(getattr(record, "languages", None) or [])
    main = next((code for code in ("en", "zh", "ja") if code in languages), "en")
    return main, (languages or None)


def _enrollment_failed(artifact_id: Any, message: str) -> VoiceProfileArtifact | None:
    with transaction.atomic():
        artifact = VoiceProfileArtifact.objects.select_for_update().filter(pk=artifact_id).first()
        if artifact is None:
            return None
        artifact.status = EnrollmentStatus.FAILED
        artifact.error = message[:2000]
        artifact.save(update_fields=["status", "error"])
        record_audit("synthesis.enrollment_failed", organisation=artifact.voice.organisation_id, target=artifact.voice,
                     details={"reason": message[:500]})
        release_waiting_generations(artifact.voice, failure=message)
    return artifact


def delete_enrollment(voice: Voice, *, reason: str, user=None) -> bool:
    """Delete the voice's cached profile (row and file). Returns whether there was one."""
    artifact = VoiceProfileArtifact.objects.filter(voice=voice).first()
    if artifact is None:
        return False
    name = artifact.profile_file.name if artifact.profile_file else None
    with transaction.atomic():
        artifact.delete()
        record_audit("synthesis.enrollment_deleted", actor=user, organisation=voice.organisation_id, target=voice,
                     details={"reason": reason, "engine": artifact.engine})
        if name:  # the file goes once the deletion is committed (never a row pointing at nothing)
            transaction.on_commit(lambda: _delete_quietly(name))
    return True


def cancel_active_generations(voice: Voice, *, reason: str, consent: ConsentRecord | None = None) -> int:
    """Cancel the voice's queued and running jobs (those under ``consent`` when given)."""
    jobs = Generation.objects.filter(voice=voice, status__in=ACTIVE_STATUSES)
    if consent is not None:
        jobs = jobs.filter(consent=consent)
    count = 0
    for generation in jobs:
        cancel_generation(generation, reason=reason)
        count += 1
    return count


# --------------------------------------------------------------------------- /tts reference audio
REFERENCE_MAX_BYTES = 10 * 1024 * 1024
REFERENCE_MAX_SECONDS = 60.0
REFERENCE_MIN_SECONDS = 1.0


def speaker_threshold() -> float:
    """The consent gate's same-speaker threshold (the one statements are verified with)."""
    from consent.verification import SAME_SPEAKER_THRESHOLD

    return float(getattr(settings, "CONSENT_SPEAKER_THRESHOLD", SAME_SPEAKER_THRESHOLD))


def voice_matching_reference(organisation, data: bytes) -> Voice:
    """The organisation's enrolled voice that ``data`` (audio) is the voice of, or PermissionDenied.

    Only a clip of a voice the organisation already enrolled (with its consent process) can
    select a voice: an arbitrary clip never becomes a new cloned voice here.
    """
    from consent.selectors import voices_for
    from consent.speaker import embed_speaker, speaker_similarity

    decoded = decode_audio(data, max_bytes=REFERENCE_MAX_BYTES, max_seconds=REFERENCE_MAX_SECONDS)
    if decoded.duration_s < REFERENCE_MIN_SECONDS:
        raise DomainError(f"reference_audio is {decoded.duration_s:.1f} s long; at least {REFERENCE_MIN_SECONDS:.0f} s "
                          "of speech is needed to recognise the voice")
    try:
        embedding = embed_speaker(decoded.samples, decoded.sample_rate)
    except ValueError as exc:  # silence or noise: no voice to recognise
        raise DomainError(f"reference_audio cannot be used: {exc}; send a clip of the voice speaking") from exc
    scored = [(voice, speaker_similarity(embedding, voice.embedding_vector()))
              for voice in voices_for(organisation) if voice.embedding]
    threshold = speaker_threshold()
    if not scored:
        raise PermissionDenied("reference_audio cannot be used: your organisation has no enrolled voices; "
                               "enroll the voice with its owner's consent first")
    voice, similarity = max(scored, key=lambda pair: pair[1])
    if similarity < threshold:
        raise PermissionDenied(
            f"reference_audio does not match any enrolled voice of your organisation (closest: {voice.name!r} at "
            f"similarity {similarity:.2f}, {threshold:.2f} needed); only voices enrolled with their owner's "
            "consent can be synthesized", details={"best_similarity": round(float(similarity), 4),
                                                    "threshold": threshold})
    return voice
