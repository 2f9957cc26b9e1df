"""Reads: the fingerprint registry, generation records as a caller may see them, voices to compare, queues."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Q, QuerySet

from voicegate.accounts.models import member_name

from .evidence import GenerationRef
from .models import FingerprintBlock, FingerprintHash, ModerationItem, RegisteredClip, Verification
from voicegate.fingerprint import WARP_MIN_SCORE, Warp, WarpedQuery
from .registry import POSTING, Vote, unpack_postings, vote

# Bound the IN list: SQLite accepts 32766 parameters, and PostgreSQL plans short lists better.
_IN_CHUNK = 2000


@dataclass(frozen=True)
class RegistryMatch:
    generation_id: str
    clip_id: int
    organisation_id: str | None
    vote: Vote
    warp: Warp = Warp(1.0, 1.0)  # the speed/tempo/pitch change undone to find it


# At most this many compacted postings are read per lookup. Common hashes carry little information
# (like stop words); the rarest query hashes are read first, so a lookup's cost stays flat as the
# registry grows while a true match keeps far more than MIN_SCORE aligned hashes.
POSTING_BUDGET = 100_000
# A warped query carries 66 variants' hashes of which one is right, so it reads more postings.
WARP_POSTING_BUDGET = 400_000


def _rarest_within_budget(counts: dict[int, int], budget: int) -> list[int]:
    chosen, total = [], 0
    for value in sorted(counts, key=counts.__getitem__):
        if total + counts[value] > budget and chosen:
            break
        chosen.append(value)
        total += counts[value]
    return chosen


def _postings_for(wanted: list[int], budget: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hash_parts, clip_parts, frame_parts = [], [], []
    counts: dict[int, int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        counts.update(FingerprintBlock.objects.filter(hash__in=chunk).values_list("hash", "count"))
        # Fresh (not yet compacted) rows are few: bounded by the compaction threshold.
        fresh = np.array(list(FingerprintHash.objects.filter(hash__in=chunk)
                              .values_list("hash", "clip_id", "offset")), dtype=np.int64).reshape(-1, 3)
        hash_parts.append(fresh[:, 0])
        clip_parts.append(fresh[:, 1])
        frame_parts.append(fresh[:, 2])
    chosen = _rarest_within_budget(counts, POSTING_BUDGET if budget is None else budget)
    for start in range(0, len(chosen), _IN_CHUNK):
        blocks = FingerprintBlock.objects.filter(hash__in=chosen[start:start + _IN_CHUNK])
        for value, block in blocks.values_list("hash", "postings"):
            postings = unpack_postings(block)
            hash_parts.append(np.full(len(postings), value, dtype=np.int64))
            clip_parts.append(postings["clip"])
            frame_parts.append(postings["offset"])
    if not hash_parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return (np.concatenate(hash_parts), np.concatenate(clip_parts).astype(np.int64),
            np.concatenate(frame_parts).astype(np.int64))


def find_in_registry(query: Sequence[tuple[int, int]], *, limit: int = 5, min_score: int | None = None,
                     budget: int | None = None) -> list[RegistryMatch]:
    """Registered outputs the queried audio comes from, best first (one indexed read per hash chunk)."""
    wanted = sorted({int(value) for value, _ in query})
    if not wanted:
        return []
    hashes, clips, frames = _postings_for(wanted, budget)
    votes = vote(query, hashes, clips, frames, limit=limit, **({} if min_score is None else {"min_score": min_score}))
    if not votes:
        return []
    registered = {clip.pk: clip for clip in RegisteredClip.objects.filter(pk__in=[v.clip_id for v in votes])}
    return [RegistryMatch(str(registered[v.clip_id].generation_id), v.clip_id,
                          str(registered[v.clip_id].organisation_id) if registered[v.clip_id].organisation_id else None, v)
            for v in votes if v.clip_id in registered]


def find_warped_in_registry(query: WarpedQuery, *, limit: int = 5) -> list[RegistryMatch]:
    """As find_in_registry, for a query sped up, slowed down or pitch-shifted: each variant of the
    warp grid votes apart; a match says which change it undid and where the upload starts."""
    matches = []
    for found in find_in_registry(query.hashes, limit=limit, min_score=WARP_MIN_SCORE, budget=WARP_POSTING_BUDGET):
        warp, start, size = query.untag(found.vote.delta)
        untagged = Vote(found.vote.clip_id, found.vote.score, start, size)
        matches.append(RegistryMatch(found.generation_id, found.clip_id, found.organisation_id, untagged, warp))
    return matches


def registry_size() -> dict[str, int]:
    return {"clips": RegisteredClip.objects.count(), "fresh_rows": FingerprintHash.objects.count(),
            "blocks": FingerprintBlock.objects.count(), "posting_bytes": POSTING.itemsize}


def generation_by_payload(payload: bytes):
    """synthesis' selector when it exists (the watermark key is the 32-bit payload)."""
    try:
        from synthesis.selectors import generation_by_watermark_payload
    except ImportError:
        from synthesis.models import Generation

        return Generation.objects.filter(watermark_key=int.from_bytes(payload, "big")).first()
    return generation_by_watermark_payload(payload)


def generation_by_id(generation_id: str):
    from synthesis.models import Generation

    return (Generation.objects.select_related("organisation", "user", "voice", "consent")
            .filter(pk=generation_id).first())


def generation_ref(generation, organisation) -> GenerationRef:
    """What ``organisation`` may learn about ``generation``: details only when it is its own.

    ``organisation`` None is the platform operator (the verify_clip command), who sees everything.
    """
    same = organisation is None or generation.organisation_id == getattr(organisation, "pk", organisation)
    consent_id = str(generation.consent_id) if generation.consent_id else (generation.consent_ref or None)
    details = {}
    if same:
        voice_id = str(generation.voice_id) if generation.voice_id else (generation.voice_ref or None)
        details = {
            "organisation": {"id": str(generation.organisation_id), "name": generation.organisation.name},
            "user": member_name(generation.user) if generation.user else None,
            "voice_id": voice_id,  # None for a stock voice (it has no enrolled voice; stock_voice names it)
            "voice_name": generation.voice.name if generation.voice else None,
            "text_hash": generation.text_hash,
            "language": generation.resolved_language or generation.language,
            "status": generation.status,
            "duration_s": generation.duration_s,
        }
    created = generation.created_at.isoformat() if generation.created_at else None
    return GenerationRef(str(generation.pk), created, consent_id, same, details,
                         stock_voice=getattr(generation, "stock_voice", "") or None)


def enrolled_voices(organisation) -> list[tuple[str, str, np.ndarray]]:
    """(id, name, embedding) of the voices to compare with: the caller's, or every one for the operator."""
    from consent.models import Voice, VoiceStatus

    voices = Voice.objects.filter(status=VoiceStatus.ENROLLED).exclude(embedding=[])
    if organisation is not None:
        voices = voices.filter(organisation=organisation)
    rows = []
    for voice in voices.only("id", "name", "embedding"):
        vector = voice.embedding_vector()
        if vector is not None and vector.size:
            rows.append((str(voice.pk), voice.name, vector))
    return rows


def protected_voices(organisation) -> list[tuple[str, str, np.ndarray]]:
    """(id, name, embeddings matrix) of the global protected voices and the caller's own."""
    from consent.models import ProtectedVoice

    voices = ProtectedVoice.objects.all()
    if organisation is not None:
        voices = voices.filter(Q(organisation__isnull=True) | Q(organisation=organisation))
    rows = []
    for voice in voices.only("id", "name", "embeddings"):
        if voice.embeddings:
            rows.append((str(voice.pk), voice.name, np.asarray(voice.embeddings, dtype=np.float32).reshape(-1, 256)))
    return rows


def verifications_for(organisation) -> QuerySet[Verification]:
    return Verification.objects.filter(organisation=organisation).select_related("uploaded_by")


def moderation_queue(organisation, *, status: str | None = None, verdict: str | None = None,
                     assigned_to=None, flagged: bool | None = None) -> QuerySet[ModerationItem]:
    items = (ModerationItem.objects.filter(organisation=organisation)
             .select_related("verification", "assigned_to", "decided_by"))
    if status:
        items = items.filter(status=status)
    if verdict:
        items = items.filter(verification__verdict=verdict)
    if assigned_to is not None:
        items = items.filter(assigned_to=assigned_to)
    if flagged is not None:
        items = items.filter(flagged=flagged)
    return items
