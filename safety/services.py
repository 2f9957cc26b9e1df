"""Writes and workflows of safety: the fingerprint registry, verifying clips, the moderation queue.

Evidence gathering (``examine_clip``) reads only; ``submit_verification`` stores the result,
queues it for moderation and notifies webhooks, all inside one transaction with its audit entry.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from voicegate.accounts.models import member_name
from voicegate.audio import DecodedAudio, decode_audio
from voicegate.audit.services import record_audit
from voicegate.errors import Conflict, DomainError, NotFound, PermissionDenied
from voicegate.jobs import LeaseHeartbeat, enqueue, lease_until, max_attempts

from . import conf, selectors
from .evidence import (Evidence, FingerprintEvidence, FingerprintHit, Label, ManifestEvidence,
                       SyntheticSpeechEvidence, VoiceMatch, WatermarkEvidence, decide)
from voicegate.fingerprint import fingerprint, warped_query
from .models import (VERDICT_PRIORITY, Decision, FingerprintBlock, FingerprintHash, ModerationEvent, ModerationItem,
                     ModerationStatus, RegisteredClip, Verdict, Verification, VerificationStatus, WebhookEvent)
from .registry import pack_postings, unpack_postings

logger = logging.getLogger(__name__)

# Report voice similarities from here up (context for the moderator); flag from the threshold up.
REPORT_SIMILARITY = 0.60


# --- fingerprint registry ------------------------------------------------------------------

def register_fingerprint(generation_id, samples: np.ndarray, sample_rate: int, *, organisation=None,
                         duration_s: float | None = None) -> RegisteredClip:
    """Add one output's landmark hashes to the registry (idempotent per generation)."""
    hashes = fingerprint(samples, sample_rate)
    with transaction.atomic():
        clip, created = RegisteredClip.objects.get_or_create(
            generation_id=generation_id,
            defaults={"organisation": organisation, "hash_count": len(hashes),
                      "duration_s": duration_s if duration_s is not None else len(samples) / sample_rate})
        if created:
            FingerprintHash.objects.bulk_create(
                [FingerprintHash(hash=value, clip=clip, offset=frame) for value, frame in hashes], batch_size=2000)
    if created and FingerprintHash.objects.count() >= conf.compact_rows():
        enqueue("safety.compact_fingerprint_registry")
    return clip


def compact_fingerprints() -> int:
    """Fold fresh hash rows into per-hash posting blocks; returns the number of postings moved.

    The fresh rows are locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers),
    so two compactions never append the same postings twice.
    """
    with transaction.atomic():
        last = FingerprintHash.objects.aggregate(last=Max("id"))["last"]
        if last is None:
            return 0
        rows = list(FingerprintHash.objects.select_for_update().filter(id__lte=last)
                    .values_list("hash", "clip_id", "offset"))
        if not rows:
            return 0
        grouped: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for value, clip_id, offset in rows:
            grouped[value].append((clip_id, offset))
        wanted = sorted(grouped)
        existing: dict[int, FingerprintBlock] = {}
        for start in range(0, len(wanted), 2000):
            for block in FingerprintBlock.objects.select_for_update().filter(hash__in=wanted[start:start + 2000]):
                existing[block.hash] = block
        to_create, to_update = [], []
        for value in wanted:
            pairs = np.asarray(grouped[value], dtype=np.int64)
            added = pack_postings(pairs[:, 0], pairs[:, 1])
            block = existing.get(value)
            if block is None:
                to_create.append(FingerprintBlock(hash=value, postings=added, count=len(pairs)))
            else:
                block.postings = bytes(block.postings) + added
                block.count = len(unpack_postings(block.postings))
                to_update.append(block)
        FingerprintBlock.objects.bulk_create(to_create, batch_size=1000)
        FingerprintBlock.objects.bulk_update(to_update, ["postings", "count"], batch_size=1000)
        FingerprintHash.objects.filter(id__lte=last).delete()
    return len(rows)


# --- evidence ----------------------------------------------------------------------------------

def _detect_watermark(samples: np.ndarray, sample_rate: int):
    from watermark.services import detect_in

    return detect_in(samples, sample_rate)


def watermark_evidence(samples: np.ndarray, sample_rate: int, organisation) -> WatermarkEvidence:
    try:
        detection = _detect_watermark(samples, sample_rate)
    except Exception:  # a detector fault must not hide the other evidence; the report says it did not run
        logger.exception("watermark detection failed")
        return WatermarkEvidence(False, 0.0, None, available=False)
    payload = bytes(detection.payload) if detection.detected and detection.payload else None
    ref = None
    if payload is not None:
        generation = selectors.generation_by_payload(payload)
        if generation is not None:
            ref = selectors.generation_ref(generation, organisation)
    return WatermarkEvidence(bool(detection.detected), float(detection.confidence), payload.hex() if payload else None,
                             [tuple(map(float, s)) for s in (getattr(detection, "segments", None) or [])], ref)


def warm_detector() -> None:
    """Load the detector's models in this thread before it runs in another (see detector.warm)."""
    from .detector import warm

    try:
        warm()
    except Exception:  # synthetic_evidence reports the failure when it runs
        logger.exception("synthetic-speech detector could not be loaded")


def synthetic_evidence(samples: np.ndarray, sample_rate: int) -> SyntheticSpeechEvidence:
    """The synthetic-speech detector's score (safety.detector), with its measured error rates."""
    from .detector import detect_synthetic

    try:
        score = detect_synthetic(samples, sample_rate, threshold=conf.synthetic_threshold(),
                                 max_seconds=conf.synthetic_max_seconds())
    except Exception:  # a detector fault must not hide the other evidence; the report says it did not run
        logger.exception("synthetic-speech detection failed")
        return SyntheticSpeechEvidence(available=False, reason="the detector failed to run")
    return SyntheticSpeechEvidence(available=True, judged=score.judged, probability=score.probability,
                                   detected=score.detected, reason=score.reason,
                                   miss_rate=score.model.get("miss_rate"),
                                   false_alarm_rate=score.model.get("false_alarm_rate"), body=score.as_dict())


def fingerprint_evidence(samples: np.ndarray, sample_rate: int, organisation) -> FingerprintEvidence:
    query = fingerprint(samples, sample_rate)
    found = selectors.find_in_registry(query)
    if not found:  # perhaps sped up, slowed down or pitch-shifted: undo each change of the grid
        found = selectors.find_warped_in_registry(warped_query(samples, sample_rate))
    hits = []
    for match in found:
        generation = selectors.generation_by_id(match.generation_id)
        ref = selectors.generation_ref(generation, organisation) if generation else None
        hits.append(FingerprintHit(match.generation_id, match.vote.score, match.vote.query_hashes,
                                   match.vote.clip_offset_s, match.vote.query_offset_s, ref,
                                   round(match.warp.time_scale, 4), round(match.warp.freq_scale, 4)))
    return FingerprintEvidence(len(query), hits)


def our_provider() -> str:
    from django.conf import settings

    return str(getattr(settings, "PROVENANCE_PROVIDER", "voicegate")).strip().lower()


def manifest_evidence(data: bytes) -> ManifestEvidence:
    from watermark.labels import sniff_format
    from watermark.services import manifest_report

    fmt = sniff_format(data)
    if fmt is None:
        return ManifestEvidence(present=False)
    try:
        found = manifest_report(data, fmt)  # trusts the roots in PROVENANCE_TRUST_ANCHORS
    except Exception as exc:  # a malformed manifest is evidence to report, not a failure of the check
        return ManifestEvidence(present=True, valid=False, errors=[f"manifest could not be read: {exc}"])
    return manifest_from_report(found)


def manifest_from_report(found) -> ManifestEvidence:
    """Our evidence from watermark.manifest's ManifestReport: which checks passed, whose claim, what it says."""
    if not found.present:
        return ManifestEvidence(present=False)
    errors = [str(code) for code in found.errors]
    lowered = [code.lower() for code in errors]
    signature_ok = not any("signature" in code for code in lowered)
    binding_ok = not any("hash" in code and ("mismatch" in code or "missing" in code or "invalid" in code)
                         for code in lowered)
    ours = found.assertion is not None
    ai = ours or any("trainedalgorithmicmedia" in json.dumps(action).lower()
                     or "compositesynthetic" in json.dumps(action).lower() for action in found.actions)
    return ManifestEvidence(
        present=True, valid=bool(found.valid), signature_valid=signature_ok, trusted=bool(found.trusted),
        hash_binding_valid=binding_ok, ours=ours, ai_generated=ai, claim_generator=found.claim_generator,
        issuer=found.signer, generation_id=(found.assertion or {}).get("generation_id"), errors=errors,
        voice=(found.assertion or {}).get("voice") if ours else None)


def label_evidence(data: bytes) -> list[Label]:
    from watermark.labels import read_labels

    try:
        found = read_labels(data)
    except Exception as exc:  # unreadable metadata is not an upload error: the audio decoded
        logger.info("labels could not be read: %s", exc)
        return []
    if not found.get("ai_generated"):
        return []
    where = [name for name, present in (("GB 45438 AIGC", found.get("aigc")),
                                        ("IPTC digital source type", found.get("digital_source_type")),
                                        ("AI_GENERATED field", _has_field(found, "AI_GENERATED"))) if present]
    provider = found.get("provider")
    text = "; ".join(filter(None, [f"provider {provider}" if provider else None,
                                   f"generation {found.get('generation_id')}" if found.get("generation_id") else None,
                                   found.get("voice"), found.get("digital_source_type")]))
    return [Label(where=f"{found.get('format') or 'file'} metadata: {', '.join(where)}", text=text,
                  provider=provider, ours=(provider or "").strip().lower() == our_provider(), ai_generated=True)]


def _has_field(found: dict, name: str) -> bool:
    return any(key.upper().endswith(name) for key in (found.get("fields") or {}))


def _speech_excerpt(samples: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """The loudest-energy stretch of at most ``seconds``: the speaker embedding's cost grows with length."""
    length = int(seconds * sample_rate)
    if samples.size <= length:
        return samples
    # Pick the window with the most energy (speech, not leading silence) in 0.5 s steps.
    step = sample_rate // 2
    energy = np.convolve(np.square(samples[: samples.size // step * step].reshape(-1, step)).sum(axis=1),
                         np.ones(max(1, length // step)), mode="valid")
    start = int(np.argmax(energy)) * step
    return samples[start:start + length]


def voice_evidence(samples: np.ndarray, sample_rate: int, organisation) -> tuple[list[VoiceMatch], bool, str | None]:
    from consent.speaker import embed_speaker, speaker_similarity

    threshold = similarity_threshold()
    candidates = selectors.enrolled_voices(organisation)
    protected = selectors.protected_voices(organisation)
    if not candidates and not protected:
        return [], True, None
    try:
        embedding = embed_speaker(_speech_excerpt(samples, sample_rate, conf.voice_analysis_seconds()), sample_rate)
    except ValueError as exc:  # too little speech: report it instead of guessing
        return [], False, str(exc)
    matches = []
    for voice_id, name, vector in candidates:
        similarity = speaker_similarity(embedding, vector)
        if similarity >= REPORT_SIMILARITY:
            matches.append(VoiceMatch("enrolled", voice_id, name, similarity, similarity >= threshold))
    for voice_id, name, vectors in protected:
        similarity = max(speaker_similarity(embedding, row) for row in vectors)
        if similarity >= REPORT_SIMILARITY:
            matches.append(VoiceMatch("protected", voice_id, name, similarity, similarity >= threshold))
    matches.sort(key=lambda m: -m.similarity)
    return matches, True, None


def similarity_threshold() -> float:
    from consent.verification import SAME_SPEAKER_THRESHOLD

    return float(SAME_SPEAKER_THRESHOLD)


@dataclass(frozen=True)
class ClipReport:
    verdict: str
    generation_id: str | None
    body: dict[str, Any]


def examine_clip(data: bytes, *, organisation=None, filename: str = "",
                 decoded: DecodedAudio | None = None) -> ClipReport:
    """Gather every kind of evidence about one file and decide the verdict (reads only).

    ``organisation`` is the caller's: it limits which voices are compared and what is
    disclosed about another organisation's generations. None is the platform operator.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def timed(name: str, func, *args):
        begin = time.perf_counter()
        result = func(*args)
        timings[name] = round(time.perf_counter() - begin, 4)
        return result

    if decoded is None:
        decoded = timed("decode", lambda: decode_audio(data, max_bytes=conf.max_bytes(),
                                                        max_seconds=conf.max_seconds()))
    samples, rate = decoded.samples, decoded.sample_rate
    # The synthetic-speech detector reads only the samples (no database), and its encoder and the
    # watermark/fingerprint searches spend their time in torch and NumPy/SciPy kernels that release
    # the GIL: run it beside the other checks (bench/verify.py, a 10 s clip on 2 cores: 1.02 s one after
    # the other, 0.92-0.97 s so). Its models are loaded here first: loaded in both threads at once, they
    # stalled a fresh Celery worker.
    warm_detector()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-speech") as pool:
        pending = pool.submit(timed, "synthetic_speech", synthetic_evidence, samples, rate)
        watermark = timed("watermark", watermark_evidence, samples, rate, organisation)
        prints = timed("fingerprint", fingerprint_evidence, samples, rate, organisation)
        manifest = timed("manifest", manifest_evidence, data)
        labels = timed("labels", label_evidence, data)
        matches, analysed, note = timed("voice", voice_evidence, samples, rate, organisation)
        synthetic = pending.result()
    evidence = Evidence(watermark, prints, manifest, labels, matches, analysed, note, similarity_threshold(), synthetic)
    finding = decide(evidence)
    timings["total"] = round(time.perf_counter() - started, 4)
    explanation = finding.explanation
    if decoded.damaged:
        explanation += (f" The file is damaged ({decoded.problems[0]}): only the {decoded.duration_s:.1f} s that "
                        "could be decoded were examined, so evidence in the rest of it may have been missed.")
    body = {
        "verdict": finding.verdict,
        "explanation": explanation,
        "generation_id": finding.generation_id,
        "clip": {"filename": filename, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                 "format": decoded.format, "sample_rate": rate, "channels": decoded.channels,
                 "duration_s": round(decoded.duration_s, 3)},
        "decode": {"damaged": decoded.damaged, "problems": list(decoded.problems)},
        "watermark": watermark.as_dict(),
        "fingerprint": prints.as_dict(),
        "manifest": manifest.as_dict(),
        "labels": [label.as_dict() for label in labels],
        "voice_matches": [match.as_dict() for match in matches],
        "synthetic_speech": synthetic.as_dict(),
        "voice_analysis": {"analysed": analysed, "note": note, "threshold": evidence.similarity_threshold,
                           "seconds_analysed": min(decoded.duration_s, conf.voice_analysis_seconds())},
        "timings_s": timings,
        "checked_at": timezone.now().isoformat(),
    }
    return ClipReport(finding.verdict, finding.generation_id, body)


# --- verifications -------------------------------------------------------------------------

def _check_caller(user):
    from voicegate.accounts.selectors import organisation_of

    return organisation_of(user)


def submit_verification(user, data: bytes, filename: str = "") -> Verification:
    """Verify an upload now (short clips) or queue it as a job (long ones).

    Bad input raises before anything is stored; a failure after the file is saved deletes it.
    """
    organisation = _check_caller(user)
    decoded = decode_audio(data, max_bytes=conf.max_bytes(), max_seconds=conf.max_seconds())
    digest = hashlib.sha256(data).hexdigest()
    common = {"organisation": organisation, "uploaded_by": user, "filename": filename[:255], "file_sha256": digest,
              "size_bytes": len(data), "duration_s": round(decoded.duration_s, 3), "audio_format": decoded.format}
    if decoded.duration_s <= conf.sync_seconds():
        report = examine_clip(data, organisation=organisation, filename=filename, decoded=decoded)
        with transaction.atomic():
            verification = Verification(**common, status=VerificationStatus.DONE, verdict=report.verdict,
                                        report=report.body, finished_at=timezone.now())
            verification.full_clean()
            verification.save()
            _after_verdict(verification, user)
        return verification
    stored_name = None
    try:
        with transaction.atomic():
            verification = Verification(**common, status=VerificationStatus.QUEUED)
            verification.upload.save(f"{digest[:16]}.bin", ContentFile(data), save=False)
            stored_name = verification.upload.name
            verification.full_clean()
            verification.save()
            record_audit("verification.queued", actor=user, organisation=organisation, target=verification,
                         details={"sha256": digest, "duration_s": verification.duration_s})
            enqueue("safety.run_verification", str(verification.pk))
    except Exception:
        if stored_name and default_storage.exists(stored_name):
            default_storage.delete(stored_name)
        raise
    verification.refresh_from_db()
    return verification


def run_verification(verification_id: str, *, leased: bool = False) -> Verification | None:
    """The job behind a long upload: examine the stored file, record the verdict once, delete the file.

    Safe to run again for the same id, as synthesis jobs are: a verification already done or failed is
    never run again; one 'running' under a live lease belongs to another worker (a duplicate delivery)
    and is left alone; one whose lease ran out is taken over (attempt + 1, up to SYNTHESIS_MAX_ATTEMPTS).
    ``leased`` (a Celery worker) gives the attempt a lease its heartbeat renews, so the reaper
    (``reap_expired_verifications``) re-queues the job when the worker dies. The verdict, its audit entry,
    moderation item and webhooks commit together, and only for the attempt that still holds the job.
    """
    claimed = _claim_verification(verification_id, leased=leased)
    if claimed is None:
        return Verification.objects.filter(pk=verification_id).first()
    if leased:
        with LeaseHeartbeat(claimed.pk, Verification):
            return _run_claimed_verification(claimed)
    return _run_claimed_verification(claimed)


def _claim_verification(verification_id: str, *, leased: bool) -> Verification | None:
    with transaction.atomic():
        verification = Verification.objects.select_for_update().filter(pk=verification_id).first()
        if verification is None or verification.status in (VerificationStatus.DONE, VerificationStatus.FAILED):
            return None
        if verification.status == VerificationStatus.RUNNING and verification.lease_expires_at is not None \
                and verification.lease_expires_at > timezone.now():
            return None
        if verification.attempts >= max_attempts():
            _verification_failed(verification, f"gave up after {verification.attempts} attempts (the worker "
                                               "stopped each time)")
            return None
        verification.status = VerificationStatus.RUNNING
        verification.attempts += 1
        verification.lease_expires_at = lease_until() if leased else None
        verification.save(update_fields=["status", "attempts", "lease_expires_at"])
    return Verification.objects.select_related("organisation", "uploaded_by").get(pk=verification.pk)


def _run_claimed_verification(verification: Verification) -> Verification:
    try:
        with default_storage.open(verification.upload.name, "rb") as handle:
            data = handle.read()
        report = examine_clip(data, organisation=verification.organisation, filename=verification.filename)
    except Exception as exc:
        message = exc.message if isinstance(exc, DomainError) else "verification failed; the error was logged"
        if not isinstance(exc, DomainError):
            logger.exception("verification %s failed", verification.pk)
        with transaction.atomic():
            if _still_held(verification) is not None:
                _verification_failed(verification, message)
        raise
    with transaction.atomic():
        locked = _still_held(verification)
        if locked is None:  # reaped and taken over by a later attempt: its result, not this one's
            return Verification.objects.get(pk=verification.pk)
        locked.status = VerificationStatus.DONE
        locked.verdict = report.verdict
        locked.report = report.body
        locked.finished_at = timezone.now()
        locked.lease_expires_at = None
        locked.save(update_fields=["status", "verdict", "report", "finished_at", "lease_expires_at"])
        _after_verdict(locked, verification.uploaded_by)
    _delete_upload(locked)
    return locked


def _still_held(verification: Verification) -> Verification | None:
    """The row locked, when this attempt still holds the job (running, same attempt number); else None."""
    locked = Verification.objects.select_for_update().select_related("organisation").get(pk=verification.pk)
    if locked.status != VerificationStatus.RUNNING or locked.attempts != verification.attempts:
        return None
    return locked


def _verification_failed(verification: Verification, message: str) -> None:
    """Inside a transaction holding the row: mark it failed, audit it, and drop the upload once committed."""
    Verification.objects.filter(pk=verification.pk).update(status=VerificationStatus.FAILED, error=message,
                                                           finished_at=timezone.now(), lease_expires_at=None)
    record_audit("verification.failed", organisation=verification.organisation_id, target=verification,
                 details={"error": message, "attempts": verification.attempts})
    transaction.on_commit(lambda: _delete_upload(verification))


def reap_expired_verifications() -> dict[str, list[str]]:
    """Re-queue (or fail, past SYNTHESIS_MAX_ATTEMPTS) verification jobs whose worker stopped renewing the lease.

    Registered with voicegate.jobs (safety.apps), so every worker, ``manage.py reap_jobs`` and celery
    beat run it with the synthesis reaper. Each job is taken under its row lock; a late worker's attempt
    no longer matches, so it records nothing (``_still_held``).
    """
    reaped: dict[str, list[str]] = {"verifications_requeued": [], "verifications_failed": []}
    expired = Verification.objects.filter(status=VerificationStatus.RUNNING,
                                          lease_expires_at__lt=timezone.now()).values_list("pk", flat=True)
    for verification_id in list(expired[:100]):
        with transaction.atomic():
            verification = Verification.objects.select_for_update().filter(
                pk=verification_id, status=VerificationStatus.RUNNING, lease_expires_at__lt=timezone.now()).first()
            if verification is None:
                continue
            if verification.attempts >= max_attempts():
                _verification_failed(verification, f"gave up after {verification.attempts} attempts (the worker "
                                                   "stopped each time)")
                reaped["verifications_failed"].append(str(verification.pk))
                continue
            verification.status = VerificationStatus.QUEUED
            verification.lease_expires_at = None
            verification.save(update_fields=["status", "lease_expires_at"])
            enqueue("safety.run_verification", str(verification.pk))
            record_audit("verification.requeued", organisation=verification.organisation_id, target=verification,
                         details={"reason": "the worker stopped renewing the job's lease",
                                  "attempts": verification.attempts})
            reaped["verifications_requeued"].append(str(verification.pk))
    return reaped


def _delete_upload(verification: Verification) -> None:
    name = verification.upload.name
    if name:
        if default_storage.exists(name):
            default_storage.delete(name)
        Verification.objects.filter(pk=verification.pk).update(upload="")


def _after_verdict(verification: Verification, user) -> None:
    """Inside the verdict's transaction: audit, queue for moderation, notify webhooks."""
    from .webhooks import notify

    record_audit("verification.completed", actor=user, organisation=verification.organisation, target=verification,
                 details={"verdict": verification.verdict, "sha256": verification.file_sha256,
                          "generation_id": verification.report.get("generation_id")})
    item = ModerationItem(organisation=verification.organisation, verification=verification,
                          priority=VERDICT_PRIORITY.get(verification.verdict, 4),
                          flagged=verification.verdict != Verdict.NO_EVIDENCE)
    item.full_clean(exclude=["verification"])
    item.save()
    ModerationEvent.objects.create(item=item, actor=user, action=ModerationEvent.Action.QUEUED,
                                   notes=f"verdict {verification.verdict}")
    notify(verification.organisation, WebhookEvent.VERDICT, {
        "verification_id": str(verification.pk), "verdict": verification.verdict,
        "generation_id": verification.report.get("generation_id"), "sha256": verification.file_sha256,
        "explanation": verification.report.get("explanation"),
        "report_url": f"/api/v1/verifications/{verification.pk}/report/"})


# --- moderation --------------------------------------------------------------------------------

def _item_for(user, item_id) -> ModerationItem:
    organisation = _check_caller(user)
    item = (ModerationItem.objects.select_for_update().filter(pk=item_id, organisation=organisation).first())
    if item is None:
        raise NotFound("no such moderation item in your organisation")
    return item


def assign_item(user, item_id, assignee) -> ModerationItem:
    from voicegate.accounts.models import Role
    from voicegate.accounts.selectors import membership_of

    with transaction.atomic():
        item = _item_for(user, item_id)
        membership = membership_of(assignee) if assignee is not None else None
        if assignee is not None and (membership is None or membership.organisation_id != item.organisation_id
                                     or membership.role not in (Role.MODERATOR, Role.ADMIN)):
            raise PermissionDenied("items can only be assigned to moderators or admins of your organisation")
        if item.status == ModerationStatus.CLOSED:
            raise Conflict("this item is already decided; it cannot be reassigned")
        item.assigned_to = assignee
        item.status = ModerationStatus.ASSIGNED if assignee else ModerationStatus.OPEN
        item.save(update_fields=["assigned_to", "status", "updated_at"])
        ModerationEvent.objects.create(item=item, actor=user, action=ModerationEvent.Action.ASSIGNED,
                                       assigned_to=assignee)
        record_audit("moderation.assigned", actor=user, organisation=item.organisation, target=item,
                     details={"assigned_to": member_name(assignee) if assignee else None})
    return item


def decide_item(user, item_id, decision: str, notes: str = "") -> ModerationItem:
    """Approve, take down or escalate; escalated items stay open for a second decision."""
    from .webhooks import notify

    if decision not in Decision.values:
        raise DomainError(f"decision {decision!r} is not one of: {', '.join(Decision.values)}")
    notes = (notes or "").strip()
    if decision in (Decision.TAKE_DOWN, Decision.ESCALATE) and not notes:
        raise DomainError("a take-down or escalation needs notes saying why")
    with transaction.atomic():
        item = _item_for(user, item_id)
        if item.status == ModerationStatus.CLOSED:
            raise Conflict(f"this item was already decided ({item.decision}) by "
                           f"{member_name(item.decided_by) if item.decided_by else 'someone'}")
        item.decision = decision
        item.decided_by = user
        item.decided_at = timezone.now()
        item.notes = notes
        item.status = ModerationStatus.ESCALATED if decision == Decision.ESCALATE else ModerationStatus.CLOSED
        item.save()
        ModerationEvent.objects.create(item=item, actor=user, action=ModerationEvent.Action.DECIDED,
                                       decision=decision, notes=notes)
        record_audit("moderation.decided", actor=user, organisation=item.organisation, target=item,
                     details={"decision": decision, "verification_id": str(item.verification_id),
                              "verdict": item.verification.verdict, "notes_sha256":
                              hashlib.sha256(notes.encode()).hexdigest() if notes else None})
        notify(item.organisation, WebhookEvent.DECISION, {
            "moderation_id": str(item.pk), "verification_id": str(item.verification_id),
            "verdict": item.verification.verdict, "decision": decision, "notes": notes,
            "decided_by": member_name(user), "decided_at": item.decided_at.isoformat()})
    return item


def add_note(user, item_id, notes: str) -> ModerationItem:
    notes = (notes or "").strip()
    if not notes:
        raise DomainError("the note is empty")
    with transaction.atomic():
        item = _item_for(user, item_id)
        ModerationEvent.objects.create(item=item, actor=user, action=ModerationEvent.Action.NOTE, notes=notes)
        record_audit("moderation.noted", actor=user, organisation=item.organisation, target=item,
                     details={"notes_sha256": hashlib.sha256(notes.encode()).hexdigest()})
    return item
