"""Posting arithmetic for the fingerprint registry: pure NumPy, no Django.

A posting is (registered clip id, anchor frame) for one hash value. Compacted postings live in
one binary block per hash (``POSTING`` little-endian uint32 pairs), 8 bytes each, so the
registry stays small and a lookup reads one row per distinct query hash. The vote is
``safety.fingerprint.score_postings``'s (offset histogram, neighbouring offsets counted
together), vectorised: at 10^6 registered clips a query meets 10^5 postings and the pure
Python loop alone would take longer than the whole lookup budget.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voicegate.fingerprint import MIN_SCORE, frame_seconds

POSTING = np.dtype([("clip", "<u4"), ("offset", "<u4")])


@dataclass(frozen=True)
class Vote:
    clip_id: int
    score: int  # query hashes agreeing on one alignment
    delta: int  # registered frame - query frame
    query_hashes: int

    @property
    def clip_offset_s(self) -> float:
        """Where in the registered clip the upload starts (0 when the clip starts inside the upload)."""
        return round(max(self.delta, 0) * frame_seconds, 3)

    @property
    def query_offset_s(self) -> float:
        """Where in the upload the registered clip's aligned material starts."""
        return round(max(-self.delta, 0) * frame_seconds, 3)


def pack_postings(clips: np.ndarray, offsets: np.ndarray) -> bytes:
    postings = np.empty(len(clips), dtype=POSTING)
    postings["clip"] = clips
    postings["offset"] = offsets
    return postings.tobytes()


def unpack_postings(block: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(block), dtype=POSTING)


def vote(query: Sequence[tuple[int, int]], hashes: np.ndarray, clips: np.ndarray, frames: np.ndarray, *,
         min_score: int = MIN_SCORE, limit: int = 5) -> list[Vote]:
    """Best alignment per registered clip from postings fetched for the query's hashes, best first."""
    if not len(query) or not len(hashes):
        return []
    query_array = np.asarray(query, dtype=np.int64)
    order = np.argsort(query_array[:, 0], kind="stable")
    query_hashes, query_frames = query_array[order, 0], query_array[order, 1]
    hashes = np.asarray(hashes, dtype=np.int64)
    left = np.searchsorted(query_hashes, hashes, "left")
    counts = np.searchsorted(query_hashes, hashes, "right") - left
    total = int(counts.sum())
    if total == 0:
        return []
    # Every (posting, query occurrence of the same hash) pair casts one vote for clip and delta.
    posting_index = np.repeat(np.arange(len(hashes)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    deltas = np.asarray(frames, dtype=np.int64)[posting_index] - query_frames[left[posting_index] + within]
    clip_ids = np.asarray(clips, dtype=np.int64)[posting_index]
    keys = (clip_ids << 32) | (deltas + (1 << 31))
    unique_keys, key_counts = np.unique(keys, return_counts=True)
    # An excerpt cut between frame boundaries lands on deltas d and d+1: count both together.
    neighbour = np.searchsorted(unique_keys, unique_keys + 1)
    neighbour_clipped = np.minimum(neighbour, len(unique_keys) - 1)
    has_neighbour = (neighbour < len(unique_keys)) & (unique_keys[neighbour_clipped] == unique_keys + 1)
    scores = key_counts + np.where(has_neighbour, key_counts[neighbour_clipped], 0)
    key_clips = unique_keys >> 32
    key_deltas = (unique_keys & 0xFFFFFFFF) - (1 << 31)
    # Best delta per clip: sort by clip, then score descending, and keep each clip's first row.
    by_clip = np.lexsort((-scores, key_clips))
    first = np.ones(len(by_clip), dtype=bool)
    first[1:] = key_clips[by_clip][1:] != key_clips[by_clip][:-1]
    best = by_clip[first]
    best = best[scores[best] >= min_score]
    best = best[np.lexsort((key_clips[best], -scores[best]))][:limit]
    return [Vote(int(key_clips[i]), int(scores[i]), int(key_deltas[i]), len(query)) for i in best]
