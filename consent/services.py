"""Every write and every rule about voices and consent.

The API, the Django admin, the operator commands, synthesis and the demo all call these, so
the rules live in one place:

- :func:`enroll_voice`: reference clips -> quality checks (every clip) -> speaker embeddings ->
  protected-voice screen -> stored. Nothing is stored when any clip is rejected.
- :func:`issue_statement` then :func:`grant_consent`: the owner reads a freshly generated
  statement; the recording must be the references' speaker, fresh audio (not a copy of a
  reference) and, where an offline recogniser covers the language, the text that was issued.
- :func:`approve_consent`, :func:`revoke_consent`, :func:`revoke_voice_consents`,
  :func:`erase_voice`.

The gate that every synthesis path passes, ``assert_can_synthesize``, is in :mod:`consent.gate`
(reads only, so selectors use it too).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from consent import signals, statements
from consent.models import (ConsentRecord, ConsentStatus, ProtectedVoice, ReferenceClip, StatementChallenge,
                            Use, Voice, VoiceOwner, VoiceStatus)
from consent.selectors import reference_audio
from voicegate.accounts.models import Organisation, Role
from voicegate.accounts.selectors import membership_of
from voicegate.audio import decode_audio
from voicegate.audit.services import record_audit
from voicegate.errors import Conflict, DomainError, NotFound, PermissionDenied

logger = logging.getLogger(__name__)

# Defaults; each can be overridden in Django settings under the same name prefixed CONSENT_.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_DECODE_SECONDS = 300.0  # decoding stops here; the quality check reports the real limit
MAX_REFERENCES = 5
STATEMENT_VALID_FOR = timedelta(hours=24)
ACTIVE_STATUSES = (ConsentStatus.PENDING, ConsentStatus.CONTENT_UNVERIFIED, ConsentStatus.VERIFIED)
# Share of the confirmation code's digits the transcript must contain, in place (anti-replay):
# five of six tolerates one misheard digit.
CODE_MIN_SHARE = 0.8


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, f"CONSENT_{name}", default)


# ---- errors ----------------------------------------------------------------------------------

class ProtectedVoiceRefused(PermissionDenied):
    code = "protected_voice"


@dataclass(frozen=True)
class AudioUpload:
    """An uploaded file's bytes and the name it came with."""

    data: bytes
    name: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_file(cls, handle) -> "AudioUpload":
        """From a Django UploadedFile or an open binary file; refuses oversized files before reading them."""
        name = getattr(handle, "name", "upload") or "upload"
        size = getattr(handle, "size", None)
        limit = _setting("MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES)
        if size is not None and size > limit:
            from voicegate.errors import PayloadTooLarge

            raise PayloadTooLarge(f"{_base_name(name)} is {_size(size)}; at most {_size(limit)} is accepted")
        return cls(handle.read(), _base_name(name))


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.0f} kB"


def _base_name(name: str) -> str:
    return str(name).replace("\\", "/").rsplit("/", 1)[-1][:255]


def _decode(upload: AudioUpload):
    return decode_audio(upload.data, max_bytes=_setting("MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES),
                        max_seconds=_setting("MAX_DECODE_SECONDS", MAX_DECODE_SECONDS))


def _labelled(exc: DomainError, label: str) -> DomainError:
    """The same error with the clip it concerns named first (several clips were uploaded)."""
    exc.message = f"{label}: {exc.message}"
    exc.args = (exc.message,)
    exc.details = {**exc.details, "clip": label}
    return exc


# ---- owners ----------------------------------------------------------------------------------

def create_owner(organisation: Organisation, *, name: str, contact: str = "", notes: str = "",
                 identity_document_ref: str = "", actor=None) -> VoiceOwner:
    name = (name or "").strip()
    if VoiceOwner.objects.filter(organisation=organisation, name=name).exists():
        raise Conflict(f"an owner named {name!r} already exists in {organisation.name}")
    owner = VoiceOwner(organisation=organisation, name=name, contact=contact, notes=notes,
                       identity_document_ref=identity_document_ref)
    owner.full_clean()
    with transaction.atomic():
        owner.save()
        record_audit("voice_owner.created", actor=actor, organisation=organisation, target=owner)
    return owner


def update_owner(owner: VoiceOwner, *, actor=None, **fields: str) -> VoiceOwner:
    allowed = {"name", "contact", "notes", "identity_document_ref"}
    changed = sorted(key for key, value in fields.items() if key in allowed and getattr(owner, key) != value)
    for key in changed:
        setattr(owner, key, fields[key].strip() if key == "name" else fields[key])
    owner.full_clean()
    with transaction.atomic():
        owner.save()
        record_audit("voice_owner.updated", actor=actor, organisation=owner.organisation, target=owner,
                     details={"fields": changed})
    return owner


def owner_named(organisation: Organisation, name: str, *, actor=None) -> VoiceOwner:
    """The organisation's owner of that name, created when there is none yet."""
    existing = VoiceOwner.objects.filter(organisation=organisation, name=name.strip()).first()
    return existing or create_owner(organisation, name=name, actor=actor)


def delete_owner(owner: VoiceOwner, *, actor=None) -> None:
    if owner.voices.exists() or owner.consents.exists():
        raise Conflict(f"{owner.name} has voices or consent records; erase the voices first")
    with transaction.atomic():
        record_audit("voice_owner.deleted", actor=actor, organisation=owner.organisation, target=owner)
        owner.delete()


# ---- enrollment ------------------------------------------------------------------------------

@dataclass
class _CheckedClip:
    upload: AudioUpload
    samples: np.ndarray
    sample_rate: int
    format: str
    report: dict
    embedding: np.ndarray


def check_references(references: Sequence[AudioUpload]) -> list[_CheckedClip]:
    """Decode, quality-check and embed every clip; the first failing clip raises (naming it)."""
    from consent.quality import assert_recording_ok
    from consent.speaker import embed_speaker

    if not references:
        raise DomainError("upload at least one reference recording of the voice owner")
    limit = _setting("MAX_REFERENCES", MAX_REFERENCES)
    if len(references) > limit:
        raise DomainError(f"{len(references)} reference recordings were uploaded; at most {limit} are accepted")
    checked = []
    for number, upload in enumerate(references, start=1):
        try:
            decoded = _decode(upload)
            report = assert_recording_ok(decoded.samples, decoded.sample_rate, kind="reference")
            embedding = embed_speaker(decoded.samples, decoded.sample_rate)
        except DomainError as exc:
            if len(references) > 1:
                raise _labelled(exc, f"reference {number} ({upload.name})") from None
            raise
        except ValueError as exc:  # too little speech for an embedding
            raise DomainError(f"{upload.name}: {exc}") from exc
        checked.append(_CheckedClip(upload, decoded.samples, decoded.sample_rate, decoded.format,
                                    report.as_dict(), embedding))
    return checked


def protected_candidates(organisation: Organisation | None) -> list[tuple[object, np.ndarray]]:
    """(protected voice id, embedding) rows that apply to an organisation: global ones and its own."""
    from django.db.models import Q

    query = Q(organisation__isnull=True)
    if organisation is not None:
        query |= Q(organisation=organisation)
    return [(voice.pk, np.asarray(vector, dtype=np.float32))
            for voice in ProtectedVoice.objects.filter(query) for vector in voice.embeddings]


def screen_protected(organisation: Organisation, embeddings: Iterable[np.ndarray]) -> tuple[ProtectedVoice, float] | None:
    """The closest protected voice any clip matches at or above the same-speaker threshold."""
    from consent.verification import SAME_SPEAKER_THRESHOLD, best_match

    candidates = protected_candidates(organisation)
    best: tuple[object, float] | None = None
    for embedding in embeddings:
        match = best_match(embedding, candidates, threshold=_setting("PROTECTED_THRESHOLD", SAME_SPEAKER_THRESHOLD))
        if match and (best is None or match[1] > best[1]):
            best = match
    if best is None:
        return None
    return ProtectedVoice.objects.get(pk=best[0]), best[1]


def _save_file(field_file, name: str, data: bytes, saved: list[str]) -> None:
    field_file.save(name, ContentFile(data), save=False)
    saved.append(field_file.name)


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        try:
            if name and default_storage.exists(name):
                default_storage.delete(name)
        except Exception:  # cleanup must not hide the error that caused it
            logger.exception("could not delete %s from storage", name)


def enroll_voice(organisation: Organisation, *, name: str, references: Sequence[AudioUpload],
                 owner: VoiceOwner | None = None, actor=None) -> Voice:
    """Check every reference clip, screen against protected voices, then store the voice."""
    from consent.speaker import mean_embedding

    name = (name or "").strip()
    if not name:
        raise DomainError("give the voice a name")
    if owner is not None and owner.organisation_id != organisation.pk:
        raise NotFound("no such voice owner")
    checked = check_references(references)
    embeddings = [clip.embedding for clip in checked]
    match = screen_protected(organisation, embeddings)
    if match is not None:
        protected, similarity = match
        with transaction.atomic():  # committed on its own: the refusal below must not undo it
            record_audit("voice.enrollment_refused", actor=actor, organisation=organisation, target=protected,
                         details={"voice_name": name, "protected_voice": protected.name,
                                  "similarity": similarity, "reference_sha256": [c.upload.sha256 for c in checked]})
        raise ProtectedVoiceRefused(
            f"these recordings match the protected voice \"{protected.name}\" (similarity {similarity:.2f}); "
            "it cannot be enrolled", details={"protected_voice_id": str(protected.pk), "similarity": similarity})

    voice = Voice(organisation=organisation, name=name, owner=owner, created_by=_user(actor),
                  embedding=[round(float(x), 6) for x in mean_embedding(embeddings)],
                  quality_report={"clips": [clip.report for clip in checked]})
    voice.full_clean()
    saved: list[str] = []
    try:
        with transaction.atomic():
            voice.save()
            for clip in checked:
                row = ReferenceClip(voice=voice, original_name=clip.upload.name, sha256=clip.upload.sha256,
                                    format=clip.format, sample_rate=clip.sample_rate,
                                    duration_s=round(clip.samples.size / clip.sample_rate, 3),
                                    embedding=[round(float(x), 6) for x in clip.embedding], quality=clip.report)
                _save_file(row.audio, clip.upload.name, clip.upload.data, saved)
                row.full_clean()
                row.save()
            record_audit("voice.enrolled", actor=actor, organisation=organisation, target=voice, details={
                "name": name, "owner_id": str(owner.pk) if owner else None,
                "references": [{"sha256": c.upload.sha256, "duration_s": round(c.samples.size / c.sample_rate, 2),
                                "sample_rate": c.sample_rate} for c in checked]})
    except BaseException:
        _delete_files(saved)
        raise
    return voice


def assign_owner(voice: Voice, owner: VoiceOwner, *, actor=None) -> Voice:
    if owner.organisation_id != voice.organisation_id:
        raise NotFound("no such voice owner")
    if voice.owner_id and voice.owner_id != owner.pk:
        raise Conflict(f"voice {voice.name!r} belongs to {voice.owner.name}; a consent must come from its owner")
    if voice.owner_id is None:
        with transaction.atomic():
            voice.owner = owner
            voice.save(update_fields=["owner"])
            record_audit("voice.owner_assigned", actor=actor, organisation=voice.organisation, target=voice,
                         details={"owner_id": str(owner.pk)})
    return voice


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# ---- statements and consent --------------------------------------------------------------------

def _clean_languages(languages: Iterable[str]) -> list[str]:
    cleaned = []
    for code in languages:
        code = str(code).strip().lower()
        if not code:
            continue
        if code == "auto" or not code.replace("-", "").isalpha() or len(code) > 8:
            raise DomainError(f"{code!r} is not a language code; use codes such as zh, en, ja, yue")
        if code not in cleaned:
            cleaned.append(code)
    if not cleaned:
        raise DomainError("name at least one language the consent covers (e.g. zh,en)")
    return cleaned


def _clean_uses(uses: Iterable[str]) -> list[str]:
    cleaned = []
    for use in uses:
        use = str(use).strip().lower()
        if not use:
            continue
        if use not in Use.values:
            raise DomainError(f"{use!r} is not a use we record consent for; choose from: {', '.join(Use.values)}")
        if use not in cleaned:
            cleaned.append(use)
    if not cleaned:
        raise DomainError(f"name at least one use the consent covers ({', '.join(Use.values)})")
    return cleaned


def _live_voice(voice: Voice) -> Voice:
    if voice.is_erased:
        raise Conflict(f"voice {voice.name!r} was erased")
    return voice


def issue_statement(voice: Voice, *, languages: Iterable[str], uses: Iterable[str] = ("narration",),
                    statement_language: str = "en", actor=None, owner: VoiceOwner | None = None) -> StatementChallenge:
    """A fresh, single-use statement for the voice's owner to read aloud."""
    _live_voice(voice)
    if owner is not None:
        assign_owner(voice, owner, actor=actor)
    if voice.owner is None:
        raise DomainError(f"voice {voice.name!r} has no owner yet; name the owner whose consent this is")
    if statement_language not in statements.STATEMENT_LANGUAGES:
        raise DomainError(f"statements can be read in: {', '.join(statements.STATEMENT_LANGUAGES)}")
    languages, uses = _clean_languages(languages), _clean_uses(uses)
    now = timezone.now()
    statement = statements.compose_statement(owner_name=voice.owner.name, organisation_name=voice.organisation.name,
                                             on=timezone.localdate(now), languages=languages, uses=uses,
                                             language=statement_language)
    challenge = StatementChallenge(voice=voice, owner=voice.owner, language=statement_language, text=statement.text,
                                   phrase=statement.phrase, languages=languages, uses=uses, created_by=_user(actor),
                                   created_at=now, expires_at=now + _setting("STATEMENT_VALID_FOR", STATEMENT_VALID_FOR))
    challenge.full_clean()
    with transaction.atomic():
        challenge.save()
        record_audit("consent.statement_issued", actor=actor, organisation=voice.organisation, target=voice,
                     details={"challenge_id": str(challenge.pk), "languages": languages, "uses": uses})
    return challenge


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    speaker_similarity: float | None
    figures: dict


def verify_statement(statement: tuple[np.ndarray, int], references: Sequence[tuple[np.ndarray, int]], *,
                     expected_text: str, phrase: str, language: str, content_checkable: bool = True) -> Verdict:
    """Same speaker, fresh audio, and (where a recogniser covers the language) the issued text."""
    from consent import verification

    threshold = _setting("SPEAKER_THRESHOLD", verification.SAME_SPEAKER_THRESHOLD)
    comparison = verification.compare_statement(statement, references, threshold=threshold)
    figures: dict[str, Any] = {
        "speaker_similarity": comparison.speaker_similarity, "speaker_threshold": comparison.threshold,
        "copy_similarity": comparison.copy_similarity, "is_copy_of_reference": comparison.is_copy_of_reference,
    }
    similarity = comparison.speaker_similarity
    if comparison.is_copy_of_reference:
        return Verdict(ConsentStatus.REJECTED, "the statement recording re-uses audio from reference clip "
                       f"{(comparison.copied_reference_index or 0) + 1}; the owner must record the statement "
                       "afresh", similarity, figures)
    if not comparison.same_speaker:
        return Verdict(ConsentStatus.REJECTED, f"the statement is not spoken by the voice in the references "
                       f"(speaker similarity {similarity:.2f}, at least {comparison.threshold:.2f} is needed)",
                       similarity, figures)
    if not content_checkable:
        return Verdict(ConsentStatus.CONTENT_UNVERIFIED, "the statement was recorded before its text was "
                       "generated (operator command), so its content cannot be checked; an admin must listen "
                       "and approve", similarity, figures)
    check = verification.transcript_matches(statement, expected_text, language)
    if check is None:
        return Verdict(ConsentStatus.CONTENT_UNVERIFIED, f"no offline speech recogniser covers {language!r}; "
                       "an admin must listen to the statement and approve it", similarity, figures)
    found, total = statements.code_digits_heard(phrase, check.transcript)
    figures.update({"transcript": check.transcript, "text_similarity": check.similarity,
                    "text_threshold": check.threshold, "code_digits_heard": found, "code_digits": total,
                    "recogniser": check.recogniser})
    if not check.matches:
        return Verdict(ConsentStatus.REJECTED, f"the recording does not match the statement text (similarity "
                       f"{check.similarity:.2f}, at least {check.threshold:.2f} is needed); read the statement "
                       "as issued", similarity, figures)
    if found < CODE_MIN_SHARE * total:
        return Verdict(ConsentStatus.REJECTED, f"the confirmation code was not heard ({found} of {total} digits); "
                       "read the statement issued for this consent, including its code", similarity, figures)
    return Verdict(ConsentStatus.VERIFIED, "", similarity, figures)


def _usable_challenge(voice: Voice, challenge: StatementChallenge, now: datetime) -> StatementChallenge:
    if challenge.voice_id != voice.pk:
        raise NotFound("no such statement for this voice; request a statement for this voice first")
    if challenge.used_at is not None:
        raise Conflict("this statement was already used; request a fresh statement and record it")
    if challenge.expires_at <= now:
        raise Conflict(f"this statement expired at {challenge.expires_at:%Y-%m-%d %H:%M} UTC; request a fresh one")
    return challenge


def grant_consent(voice: Voice, *, statement: AudioUpload, challenge: StatementChallenge, actor=None,
                  expires_at: datetime | date | None = None, valid_from: datetime | None = None,
                  content_checkable: bool = True) -> ConsentRecord:
    """Verify the owner's recorded statement and store the consent record (verified or not).

    Quality problems raise (nothing stored, the statement stays usable). A verification
    failure stores a *rejected* record with its figures and reason, but not the audio: it may
    be someone else's voice, who consented to nothing.
    """
    from consent.quality import assert_recording_ok

    _live_voice(voice)
    now = timezone.now()
    _usable_challenge(voice, challenge, now)
    expires = _as_datetime(expires_at)
    if expires is not None and expires <= now:
        raise DomainError("the expiry date is in the past")
    decoded = _decode(statement)
    report = assert_recording_ok(decoded.samples, decoded.sample_rate, kind="statement")
    references = reference_audio(voice)
    if not references:
        raise Conflict(f"voice {voice.name!r} has no reference audio to compare with")
    try:
        verdict = verify_statement((decoded.samples, decoded.sample_rate), references,
                                   expected_text=challenge.text, phrase=challenge.phrase,
                                   language=challenge.language, content_checkable=content_checkable)
    except ValueError as exc:
        raise DomainError(f"the statement recording cannot be compared: {exc}") from exc

    record = ConsentRecord(organisation=voice.organisation, voice=voice, owner=challenge.owner, status=verdict.status,
                           challenge=challenge, statement_text=challenge.text, statement_language=challenge.language,
                           statement_sha256=statement.sha256, speaker_similarity=verdict.speaker_similarity,
                           verification={**verdict.figures, "quality": report.as_dict()}, reason=verdict.reason,
                           languages=challenge.languages, uses=challenge.uses, valid_from=valid_from or now,
                           expires_at=expires, created_by=_user(actor))
    saved: list[str] = []
    try:
        with transaction.atomic():
            locked = StatementChallenge.objects.select_for_update().get(pk=challenge.pk)
            _usable_challenge(voice, locked, now)  # a concurrent grant may have used it meanwhile
            locked.used_at = now
            locked.save(update_fields=["used_at"])
            if verdict.status != ConsentStatus.REJECTED:
                _save_file(record.statement, statement.name, statement.data, saved)
            record.full_clean()
            record.save()
            action = {ConsentStatus.VERIFIED: "consent.granted", ConsentStatus.REJECTED: "consent.rejected",
                      ConsentStatus.CONTENT_UNVERIFIED: "consent.content_unverified"}[verdict.status]
            record_audit(action, actor=actor, organisation=voice.organisation, target=record, details={
                "voice_id": str(voice.pk), "status": verdict.status, "reason": verdict.reason,
                "speaker_similarity": verdict.speaker_similarity,
                "copy_similarity": verdict.figures.get("copy_similarity"),
                "text_similarity": verdict.figures.get("text_similarity"),
                "statement_sha256": statement.sha256, "languages": record.languages, "uses": record.uses,
                "expires_at": expires.isoformat() if expires else None})
            if verdict.status == ConsentStatus.VERIFIED:
                _announce_verified(record, actor)
    except BaseException:
        _delete_files(saved)
        raise
    return record


def _as_datetime(value: datetime | date | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    # A date means "through the end of that day" in the service's time zone.
    return timezone.make_aware(datetime.combine(value + timedelta(days=1), datetime.min.time()))


def _is_org_admin(actor, organisation_id) -> bool:
    if getattr(actor, "is_superuser", False):
        return True
    membership = membership_of(actor)
    return membership is not None and membership.role == Role.ADMIN and membership.organisation_id == organisation_id


def approve_consent(consent: ConsentRecord, *, actor) -> ConsentRecord:
    """An admin who listened to the statement confirms its content (or a pending record)."""
    if not _is_org_admin(actor, consent.organisation_id):
        raise PermissionDenied("only an admin of the voice's organisation may approve a consent")
    with transaction.atomic():
        consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
        if consent.status not in (ConsentStatus.CONTENT_UNVERIFIED, ConsentStatus.PENDING):
            raise Conflict(f"this consent is {consent.get_status_display().lower()}; only consents awaiting "
                           "approval can be approved")
        _live_voice(consent.voice)
        consent.status = ConsentStatus.VERIFIED
        consent.approved_at = timezone.now()
        consent.approved_by = actor
        consent.save(update_fields=["status", "approved_at", "approved_by"])
        record_audit("consent.approved", actor=actor, organisation=consent.organisation, target=consent,
                     details={"voice_id": str(consent.voice_id), "previous_reason": consent.reason})
        _announce_verified(consent, actor)
    return consent


def _announce_verified(record: ConsentRecord, actor) -> None:
    """consent_verified, once the transaction that verified ``record`` commits (synthesis starts enrolling)."""
    from consent.signals import consent_verified

    transaction.on_commit(lambda: consent_verified.send(sender=ConsentRecord, voice=record.voice, consent=record,
                                                        actor=actor))


def revoke_consent(consent: ConsentRecord, *, actor=None, reason: str) -> ConsentRecord:
    """Takes effect at once: the gate refuses, and listeners cancel jobs and drop artifacts."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("give a reason for the revocation")
    with transaction.atomic():
        consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
        if consent.status not in ACTIVE_STATUSES:
            raise Conflict(f"this consent is {consent.get_status_display().lower()}; there is nothing to revoke")
        consent.status = ConsentStatus.REVOKED
        consent.revoked_at = timezone.now()
        consent.revoked_reason = reason
        consent.revoked_by = _user(actor)
        consent.save(update_fields=["status", "revoked_at", "revoked_reason", "revoked_by"])
        record_audit("consent.revoked", actor=actor, organisation=consent.organisation, target=consent,
                     details={"voice_id": str(consent.voice_id), "reason": reason})
    _notify(signals.consent_revoked, voice=consent.voice, consent=consent)
    return consent


def revoke_voice_consents(voice: Voice, *, actor=None, reason: str) -> list[ConsentRecord]:
    """Revoke every active consent of a voice (newest first)."""
    active = list(voice.consents.filter(status__in=ACTIVE_STATUSES).order_by("-created_at"))
    if not active:
        raise Conflict(f"voice {voice.name!r} has no active consent to revoke")
    return [revoke_consent(consent, actor=actor, reason=reason) for consent in active]


def _notify(signal, **kwargs) -> None:
    # A failing listener must not undo a revocation or erasure that already took effect; the
    # gate refuses regardless, so log and carry on.
    for receiver, result in signal.send_robust(sender=Voice, **kwargs):
        if isinstance(result, Exception):
            logger.error("%s listener %r failed: %r", signal, receiver, result, exc_info=result)


def _stored_sha256(name: str) -> str | None:
    try:
        with default_storage.open(name, "rb") as handle:
            digest = hashlib.sha256()
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
            return digest.hexdigest()
    except (OSError, FileNotFoundError):
        return None
    except Exception:  # S3 raises its own types for a missing key
        return None


def erase_voice(voice: Voice, *, actor=None, reason: str = "the owner asked for erasure") -> dict[str, Any]:
    """Delete the voice's reference and statement audio and its embeddings; keep their hashes.

    Active consents are revoked first (so queued jobs stop), ``voice_erased`` lets synthesis
    drop its enrollment artifacts, and the audit entry lists the SHA-256 of every deleted file.
    """
    _live_voice(voice)
    if voice.consents.filter(status__in=ACTIVE_STATUSES).exists():
        revoke_voice_consents(voice, actor=actor, reason=f"voice erased: {reason}")
    files: list[dict[str, str | None]] = []
    with transaction.atomic():
        voice = Voice.objects.select_for_update().get(pk=voice.pk)
        _live_voice(voice)
        for clip in voice.references.all():
            if clip.audio:
                files.append({"kind": "reference", "sha256": _stored_sha256(clip.audio.name) or clip.sha256,
                              "name": clip.audio.name})
            clip.embedding = []
            clip.audio = ""
            clip.save(update_fields=["embedding", "audio"])
        for consent in voice.consents.all():
            if consent.statement:
                files.append({"kind": "statement", "name": consent.statement.name,
                              "sha256": _stored_sha256(consent.statement.name) or consent.statement_sha256})
                consent.statement = ""
                consent.save(update_fields=["statement"])
        voice.embedding = []
        voice.status = VoiceStatus.ERASED
        voice.erased_at = timezone.now()
        voice.save(update_fields=["embedding", "status", "erased_at"])
        details = {"reason": reason, "deleted_files": [{"kind": f["kind"], "sha256": f["sha256"]} for f in files]}
        record_audit("voice.erased", actor=actor, organisation=voice.organisation, target=voice, details=details)
        _notify(signals.voice_erased, voice=voice)
        # Deleted last, inside the transaction: if a delete fails the erasure rolls back and can
        # be retried; the database never claims an erasure while audio is still stored.
        for entry in files:
            if default_storage.exists(entry["name"]):
                default_storage.delete(entry["name"])
    return details


# ---- protected voices ----------------------------------------------------------------------

def embed_recordings(uploads: Sequence[AudioUpload]) -> list[np.ndarray]:
    """Speaker embeddings of recordings of a voice to protect, after the same checks as enrollment.

    A protected voice is matched against every enrollment and every verified clip, so noise or
    silence stored as one would match (or block) anything: its recordings pass the reference
    quality checks (speech, noise, one speaker, ...) or are refused with the reason.
    """
    if not uploads:
        raise DomainError("upload at least one recording of the protected voice")
    return [clip.embedding for clip in check_references(uploads)]


def add_protected_voice(*, organisation: Organisation | None, name: str, reason: str,
                        references: Sequence[AudioUpload], actor=None) -> ProtectedVoice:
    """Store the speaker embeddings (not the audio) of a voice that must never be enrolled."""
    return store_protected_voice(organisation=organisation, name=name, reason=reason, actor=actor,
                                 embeddings=embed_recordings(references),
                                 reference_sha256=[upload.sha256 for upload in references])


def store_protected_voice(*, organisation: Organisation | None, name: str, reason: str,
                          embeddings: Sequence[np.ndarray], reference_sha256: Sequence[str],
                          actor=None) -> ProtectedVoice:
    protected = ProtectedVoice(organisation=organisation, name=(name or "").strip(), reason=(reason or "").strip(),
                               embeddings=[[round(float(x), 6) for x in e] for e in embeddings],
                               created_by=_user(actor))
    protected.full_clean()
    with transaction.atomic():
        protected.save()
        record_audit("protected_voice.added", actor=actor, organisation=organisation, target=protected,
                     details={"name": protected.name, "global": organisation is None,
                              "reference_sha256": list(reference_sha256)})
    return protected


def remove_protected_voice(protected: ProtectedVoice, *, actor=None) -> None:
    with transaction.atomic():
        record_audit("protected_voice.removed", actor=actor, organisation=protected.organisation, target=protected,
                     details={"name": protected.name})
        protected.delete()
