"""Landmark audio fingerprints (Wang 2003, "An industrial-strength audio search algorithm").

Every generated clip is fingerprinted when produced; an uploaded excerpt is matched against the
registry even after its watermark is gone. Chromaprint was measured first and cannot find
3-second excerpts (docs/audio-checks.md), so this is a constellation scheme:

1. resample to 8 kHz and take a log-magnitude spectrogram (64 ms window, 32 ms hop);
2. keep spectral peaks that are local maxima in a time-frequency neighbourhood, restricted to
   300-3000 Hz (the band speech keeps through telephone-like filtering), the strongest few per
   second;
3. pair each peak with the next few peaks ahead of it: (f1, f2, dt) packed into one integer
   hash, stored with the anchor's frame.

A match is many query hashes agreeing on one time offset in one registered clip, so gain
changes, lossy codecs, added noise and cropping (which remove some peaks but do not move the
rest) leave enough hashes to count, while unrelated audio agrees on no offset.

Speed, tempo and pitch changes move every peak (time and/or frequency scaled by a constant), so
no hash survives them. ``warped_query`` undoes each of a grid of such scalings on the query's
spectrogram before picking peaks (the registry is unchanged, so everything registered before
stays findable); the variants' hashes are looked up together and vote apart (``untag``).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.signal import stft

from voicegate.audio import resample

FINGERPRINT_RATE = 8000
WINDOW = 512  # 64 ms: resolves speech harmonics (15.6 Hz bins) at 8 kHz
# 16 ms hop: an excerpt cut anywhere lands at most 8 ms off the registered frame grid, so its
# peaks fall on the same frames (a 32 ms hop lost most hashes of arbitrary-offset excerpts).
HOP = 128
frame_seconds = HOP / FINGERPRINT_RATE  # 0.016 s per offset unit
LOW_BIN, HIGH_BIN = 19, 192  # 300 Hz .. 3000 Hz
PEAK_NEIGHBOURHOOD = (15, 21)  # bins x frames (~230 Hz x ~340 ms) a peak must dominate
FAN_OUT = 3  # hashes per anchor peak -> about 50 hashes per second of speech
MAX_DT = 63  # frames (~1 s) between the paired peaks; fits 6 bits
MAX_DF = 63  # bins either side; fits 7 bits
PEAK_FLOOR_DB = 60.0  # ignore peaks more than this below the loudest (dither, room tone)
SILENCE_DB = -80.0  # and anything quieter than this (digital silence has no landmarks)
MIN_SCORE = 5  # aligned hashes to report a match: unrelated audio scores 0-1, 3 s excerpts 6+
# Warp search of a query (see warped_query): scalings of time and/or frequency by up to WARP_REACH,
# on three lines (playback speed: both; tempo: time; pitch: frequency) every WARP_STEP, applied to
# the WARP_SECONDS of the query that have the most peaks. A hash needs both its bins and its time
# gap exact, so the residual scale error must stay near 0.25% (0.4 bin at 3 kHz).
WARP_REACH = 0.055
WARP_STEP = 0.005
WARP_SECONDS = 4.0
WARP_MIN_SCORE = 8  # more variants vote, so the best chance agreement grows; measured in bench/fingerprint.py
_VARIANT_STRIDE = 1 << 21  # frames between variants' tagged query frames (~9 hours; clips are shorter)

Fingerprint = list[tuple[int, int]]


@dataclass(frozen=True)
class Match:
    clip_id: object
    score: int  # hashes agreeing on the offset
    offset_s: float  # where in the registered clip the query starts
    query_hashes: int


def _spectrogram_db(samples: np.ndarray, sample_rate: int, bins: slice = slice(LOW_BIN, HIGH_BIN)) -> np.ndarray:
    audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, FINGERPRINT_RATE)
    if audio.size < WINDOW:
        return np.zeros((len(range(WINDOW // 2 + 1)[bins]), 0), dtype=np.float32)
    _, _, spectrum = stft(audio, nperseg=WINDOW, noverlap=WINDOW - HOP, boundary=None, padded=False)
    magnitude = np.abs(spectrum[bins]).astype(np.float32)
    return 20.0 * np.log10(magnitude + 1e-9)


def _peaks(spectrogram: np.ndarray) -> list[tuple[int, int]]:
    """(frame, bin) of local maxima that dominate their neighbourhood, time-ordered.

    Density comes from the neighbourhood's size alone (no per-block quotas), so a peak's
    selection never depends on where an excerpt was cut.
    """
    if spectrogram.size == 0:
        return []
    local_max = spectrogram == maximum_filter(spectrogram, size=PEAK_NEIGHBOURHOOD, mode="nearest")
    loud = spectrogram > max(spectrogram.max() - PEAK_FLOOR_DB, SILENCE_DB)
    bins, frames = np.nonzero(local_max & loud)
    order = np.lexsort((bins, frames))
    return [(int(frames[i]), int(bins[i]) + LOW_BIN) for i in order]


def _pack(f1: int, f2: int, dt: int) -> int:
    return (f1 & 0xFF) << 13 | ((f2 - f1 + MAX_DF) & 0x7F) << 6 | (dt & 0x3F)


def fingerprint(samples: np.ndarray, sample_rate: int) -> Fingerprint:
    """Deterministic landmark hashes: [(hash, anchor frame)], frames of `frame_seconds`."""
    return _hashes(_peaks(_spectrogram_db(samples, sample_rate)))


def _hashes(peaks: list[tuple[int, int]]) -> Fingerprint:
    hashes: Fingerprint = []
    for i, (t1, f1) in enumerate(peaks):
        paired = 0
        for t2, f2 in peaks[i + 1:]:
            dt = t2 - t1
            if dt > MAX_DT:
                break
            if dt < 1 or abs(f2 - f1) > MAX_DF:
                continue
            hashes.append((_pack(f1, f2, dt), t1))
            paired += 1
            if paired == FAN_OUT:
                break
    return hashes


def build_index(clips: Iterable[tuple[object, Fingerprint]]) -> dict[int, list[tuple[object, int]]]:
    """hash -> [(clip id, frame)], the in-memory twin of the registry's database table."""
    index: dict[int, list[tuple[object, int]]] = defaultdict(list)
    for clip_id, hashes in clips:
        for value, frame in hashes:
            index[value].append((clip_id, frame))
    return index


def score_postings(query: Sequence[tuple[int, int]],
                   postings: Iterable[tuple[int, object, int]], *,
                   min_score: int = MIN_SCORE, limit: int = 5) -> list[Match]:
    """Matches from (hash, clip id, frame) rows fetched for the query's hashes, best first.

    The Django layer fetches the rows from its table with one indexed query and calls this.
    """
    frames_by_hash: dict[int, list[int]] = defaultdict(list)
    for value, frame in query:
        frames_by_hash[value].append(frame)
    votes: Counter = Counter()
    for value, clip_id, frame in postings:
        for query_frame in frames_by_hash.get(value, ()):
            votes[(clip_id, frame - query_frame)] += 1
    # An excerpt cut between frame boundaries lands on offsets d and d+1; count both together.
    best: dict[object, tuple[int, int]] = {}
    for (clip_id, delta), count in votes.items():
        score = count + votes.get((clip_id, delta + 1), 0)
        if score > best.get(clip_id, (0, 0))[0]:
            best[clip_id] = (score, delta)
    matches = [Match(clip_id, score, round(max(delta, 0) * frame_seconds, 3), len(query))
               for clip_id, (score, delta) in best.items() if score >= min_score]
    matches.sort(key=lambda m: (-m.score, str(m.clip_id)))
    return matches[:limit]


def match(query: Sequence[tuple[int, int]], index: Mapping[int, Sequence[tuple[object, int]]], *,
          min_score: int = MIN_SCORE, limit: int = 5) -> list[Match]:
    """Registered clips that the query excerpt comes from, best first ([] for unrelated audio)."""
    wanted = {value for value, _ in query}
    postings = ((value, clip_id, frame) for value in wanted for clip_id, frame in index.get(value, ()))
    return score_postings(query, postings, min_score=min_score, limit=limit)


@dataclass(frozen=True)
class Warp:
    """A scaling the query is assumed to have had: received duration / original, received frequency / original."""
    time_scale: float
    freq_scale: float


def warp_grid() -> list[Warp]:
    """Playback speed (time and frequency), tempo (time) and pitch (frequency) changes, identity excluded."""
    steps = int(round(WARP_REACH / WARP_STEP))
    grid = []
    for k in range(-steps, steps + 1):
        if k:
            factor = float(np.exp(k * WARP_STEP))
            grid += [Warp(1 / factor, factor), Warp(1 / factor, 1.0), Warp(1.0, factor)]
    return grid


def _resampled(values: np.ndarray, axis: int, size_out: int, scale: float, first_out: int = 0,
               outside: float = 0.0) -> np.ndarray:
    """``values`` read along ``axis`` at positions (first_out + i) * scale, i < size_out, by linear
    interpolation; positions outside the input read ``outside``. Gathers only (no BLAS call)."""
    size_in = values.shape[axis]
    position = (first_out + np.arange(size_out)) * scale
    low = np.clip(np.floor(position).astype(np.int64), 0, size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    shape = [1, 1]
    shape[axis] = size_out
    frac = np.clip(position - low, 0.0, 1.0).astype(np.float32).reshape(shape)
    out = np.take(values, low, axis=axis) * (1.0 - frac) + np.take(values, high, axis=axis) * frac
    inside = ((position >= 0) & (position <= size_in - 1)).reshape(shape)
    return np.where(inside, out, np.float32(outside))


def _densest_excerpt(spectrogram: np.ndarray, frames: int) -> slice:
    """The ``frames`` of the spectrogram with the most peaks (where hashes come from)."""
    if spectrogram.shape[1] <= frames:
        return slice(0, spectrogram.shape[1])
    counts = np.zeros(spectrogram.shape[1])
    for frame, _ in _peaks(spectrogram):
        counts[frame] += 1
    totals = np.convolve(counts, np.ones(frames), mode="valid")
    start = int(np.argmax(totals))
    return slice(start, start + frames)


@dataclass(frozen=True)
class WarpedQuery:
    """Hashes of every grid variant of a query excerpt, tagged so the variants vote apart.

    Variant v's anchor frames are offset by v * _VARIANT_STRIDE: a vote's delta (registered frame
    minus query frame) then says which variant cast it (``untag``). Frames are the excerpt's own,
    on the variant's original timeline, plus ``first_frame`` (where the excerpt starts in the query).
    """
    hashes: Fingerprint
    warps: tuple[Warp, ...]
    first_frame: int
    sizes: tuple[int, ...] = ()  # hashes of each variant

    def untag(self, delta: int) -> tuple[Warp, int, int]:
        """(warp, registered frame where the received query starts, that variant's hash count) of a
        tagged vote's delta."""
        variant = min(max(int(round(-delta / _VARIANT_STRIDE)), 0), len(self.warps) - 1)
        warp = self.warps[variant]
        excerpt_delta = delta + variant * _VARIANT_STRIDE
        # The excerpt starts first_frame received frames (first_frame / time_scale original ones) in.
        start = int(round(excerpt_delta - self.first_frame / warp.time_scale))
        return warp, start, self.sizes[variant] if self.sizes else 0


def warped_query(samples: np.ndarray, sample_rate: int) -> WarpedQuery:
    """The query's hashes under every scaling of warp_grid(), from its densest WARP_SECONDS.

    Each variant resamples the received log spectrogram onto the original time-frequency grid
    (original bin b read at received bin b * freq_scale, original frame m at m * time_scale) and
    picks peaks there, as registration did on the original.
    """
    full = _spectrogram_db(samples, sample_rate, slice(0, WINDOW // 2 + 1))
    excerpt = _densest_excerpt(full[LOW_BIN:HIGH_BIN], int(WARP_SECONDS / frame_seconds))
    received = full[:, excerpt]
    warps = tuple(warp_grid())
    hashes: Fingerprint = []
    sizes = []
    if received.shape[1] == 0:
        return WarpedQuery(hashes, warps, excerpt.start or 0, (0,) * len(warps))
    floor = float(received.min())  # outside the received clip: silence (its own floor), never a peak
    for variant, warp in enumerate(warps):
        in_freq = _resampled(received, 0, HIGH_BIN - LOW_BIN, warp.freq_scale, LOW_BIN, floor)
        frames = int((received.shape[1] - 1) / warp.time_scale) + 1
        spectrogram = _resampled(in_freq, 1, frames, warp.time_scale, 0, floor)
        tag = variant * _VARIANT_STRIDE
        variant_hashes = _hashes(_peaks(spectrogram))
        hashes += [(value, frame + tag) for value, frame in variant_hashes]
        sizes.append(len(variant_hashes))
    return WarpedQuery(hashes, warps, excerpt.start or 0, tuple(sizes))
