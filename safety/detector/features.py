"""The detector's front end: Whisper-encoder statistics per half second, windows of one second.

Audio is resampled to 16 kHz, its level normalised (a detector must not care how loud a clip
is), and run through the encoder in blocks of at most 30 s. Each block's hidden states are summed
per half second (25 frames) as mean and mean of squares, for every layer; a one-second analysis
window joins two adjacent halves (hop half a second), so its mean and standard deviation are
exact and the training corpus can store halves once and choose layers later. Silero VAD gives each
half second its share of speech, so windows without speech are never scored.

The *dynamics* statistics are the mean square of each state's change from one 20 ms frame to the
next, per half second: how fast the representation moves. A window's dynamics feature is its
root, per state, beside the mean and spread (frame order matters to it, unlike to those two).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicegate import whisper

RATE = whisper.SAMPLE_RATE
HALF_FRAMES = 25  # encoder frames (20 ms) per half second
HALF_SECONDS = HALF_FRAMES * whisper.FRAME_SECONDS
BLOCK_HALVES = whisper.MAX_FRAMES // HALF_FRAMES  # 60 halves = 30 s per encoder pass
TARGET_RMS_DB = -23.0


@dataclass(frozen=True)
class HalfStats:
    """Per half second: mean and mean square of each layer's states, and the share of speech."""

    mean: np.ndarray  # [halves, layers, width] float32
    square: np.ndarray  # [halves, layers, width] float32
    speech: np.ndarray  # [halves] in 0..1
    delta: np.ndarray | None = None  # [halves, layers, width]: mean square frame-to-frame change

    @property
    def seconds(self) -> float:
        return self.mean.shape[0] * HALF_SECONDS


def normalise_level(samples: np.ndarray) -> np.ndarray:
    """Scale to a fixed RMS over the louder frames (quiet pauses don't count), without clipping."""
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        return x
    frames = x[: x.size // 400 * 400].reshape(-1, 400) if x.size >= 400 else x[None]
    energy = np.sqrt(np.mean(np.square(frames), axis=1) + 1e-12)
    loud = energy[energy >= np.percentile(energy, 50)]
    rms = float(np.sqrt(np.mean(np.square(loud)))) if loud.size else 0.0
    if rms < 1e-5:
        return x
    gain = 10 ** (TARGET_RMS_DB / 20) / rms
    peak = float(np.max(np.abs(x))) * gain
    if peak > 0.99:
        gain *= 0.99 / peak
    return (x * gain).astype(np.float32)


def speech_share(samples16k: np.ndarray, halves: int) -> np.ndarray:
    """Fraction of each half second that Silero VAD calls speech."""
    from consent.vad import FRAME_SECONDS, speech_frames

    _, is_speech, _ = speech_frames(samples16k, RATE)
    share = np.zeros(halves, dtype=np.float32)
    if is_speech.size == 0:
        return share
    index = np.minimum((np.arange(is_speech.size) * FRAME_SECONDS / HALF_SECONDS).astype(int), halves - 1)
    counts = np.bincount(index, minlength=halves).astype(np.float32)
    hits = np.bincount(index, weights=is_speech.astype(np.float32), minlength=halves)
    return np.divide(hits, counts, out=np.zeros(halves, np.float32), where=counts > 0)


def half_stats(samples16k: np.ndarray, *, with_speech: bool = True, depth: int | None = None,
               dynamics: bool = False) -> HalfStats:
    """Encoder statistics of 16 kHz, level-normalised audio, one row per (started) half second.

    ``depth`` stops the encoder after that many blocks (layers past it are not needed by the model);
    ``dynamics`` also keeps the frame-to-frame change (``delta``), for a model that uses it and for
    the training corpus.
    """
    x = np.asarray(samples16k, dtype=np.float32)
    half_samples = HALF_FRAMES * 2 * whisper.HOP
    halves = max(1, int(np.ceil(x.size / half_samples)))
    means, squares, deltas = [], [], []
    block = BLOCK_HALVES * half_samples
    for start in range(0, max(x.size, 1), block):
        piece = x[start:start + block]
        if piece.size < 2 * whisper.HOP * 2:  # a sliver at the end: pad so the encoder has frames
            piece = np.pad(piece, (0, 4 * whisper.HOP - piece.size))
        states = whisper.hidden_states(piece, depth)  # [layers, frames, width]
        frames = states.shape[1]
        count = int(np.ceil(frames / HALF_FRAMES))
        padded = np.zeros((states.shape[0], count * HALF_FRAMES, states.shape[2]), np.float32)
        padded[:, :frames] = states
        weights = np.zeros(count * HALF_FRAMES, np.float32)
        weights[:frames] = 1
        weights = weights.reshape(count, HALF_FRAMES).sum(axis=1)[:, None, None]
        shaped = padded.reshape(states.shape[0], count, HALF_FRAMES, -1).transpose(1, 0, 2, 3)
        means.append(shaped.sum(axis=2) / weights)
        squares.append(np.square(shaped).sum(axis=2) / weights)
        if not dynamics:
            continue
        # Each change belongs to the half of its later frame; a block's first frame has none.
        change = np.zeros_like(padded)
        change[:, 1:frames] = np.square(states[:, 1:] - states[:, :-1])
        moves = np.zeros(count * HALF_FRAMES, np.float32)
        moves[1:frames] = 1
        moves = np.maximum(moves.reshape(count, HALF_FRAMES).sum(axis=1), 1)[:, None, None]
        deltas.append(change.reshape(states.shape[0], count, HALF_FRAMES, -1).transpose(1, 0, 2, 3).sum(axis=2) / moves)
    mean = np.concatenate(means)[:halves]
    square = np.concatenate(squares)[:halves]
    delta = np.concatenate(deltas)[:halves] if dynamics else None
    speech = speech_share(x, mean.shape[0]) if with_speech else np.ones(mean.shape[0], np.float32)
    return HalfStats(mean, square, speech, delta)


def window_features(stats: HalfStats, layers: tuple[int, ...], dynamics: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [windows, 2 (3 with dynamics) x layers x width], window start seconds, speech share
    per window).

    A window is two adjacent halves (1 s, hop 0.5 s); a clip of one half second is one window.
    """
    parts = [stats.mean[:, layers], stats.square[:, layers]]
    if dynamics:
        if stats.delta is None:
            raise ValueError("these statistics were computed without the dynamics")
        parts.append(stats.delta[:, layers])
    if parts[0].shape[0] >= 2:
        parts = [(part[:-1] + part[1:]) / 2 for part in parts]
    mean, square = parts[0], parts[1]
    std = np.sqrt(np.maximum(square - np.square(mean), 1e-8))
    columns = [mean, std] + ([np.sqrt(np.maximum(parts[2], 0))] if dynamics else [])
    features = np.concatenate([c.reshape(c.shape[0], -1) for c in columns], axis=1)
    starts, speech = window_speech(stats.speech)
    return features.astype(np.float32), starts, speech


def window_speech(half_speech: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window start seconds, speech share per window) of the one-second windows over these halves."""
    speech = (half_speech[:-1] + half_speech[1:]) / 2 if half_speech.shape[0] >= 2 else half_speech
    return np.arange(speech.shape[0]) * HALF_SECONDS, speech
