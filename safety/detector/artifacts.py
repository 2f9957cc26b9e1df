"""The detector's second front end: the signal details a mel-spectrogram encoder cannot see.

Whisper's input is an 80-band log-mel power spectrogram: it discards the phase, blurs the fine
structure of the spectrum and most of what lies between 4 and 8 kHz. Those are exactly where
vocoders and resyntheses leave their traces (Griffin-Lim and phase-vocoder "phasiness", the
minimum-phase pulses and smooth F0 of WORLD-style source-filter models, the band-limited noise of
parametric synthesis), and the anti-spoofing literature's strongest cheap baselines are built on
them (LFCC in ASVspoof 2019/2021; group-delay and instantaneous-frequency features). This module
computes, per 10 ms frame of a 32 ms Hann STFT at 16 kHz:

- **LFCC**: 20 cepstral coefficients of 40 *linear*-frequency triangular bands over 0-8 kHz, and
  their deltas (the high band keeps its resolution, unlike mel);
- **phase at the harmonics** (local maxima of the magnitude within 40 dB of the frame's peak), in
  16 bands of 500 Hz: the mean absolute *phase acceleration* (the second time difference of the
  phase, about 0 for a steady partial, about pi/2 for random phase), the share of bins that are
  peaks, and the concentration of the *group delay* across the peaks (how coherently the partials'
  phases line up around the frame's centre);
- **cepstral peak prominence** (the height of the pitch peak of the real cepstrum above its trend,
  50-400 Hz): how periodic the voicing is.

Frames more than 35 dB under the clip's loud frames do not count. Statistics are kept per half
second as sums, sums of squares and frame counts, so one-second windows (hop 0.5 s) combine
exactly, as the encoder's statistics do in ``features.py``. Plain NumPy; about 10 ms for a 10 s clip.
No library computes these (librosa has no LFCC, phase-acceleration or CPP), hence our own code.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

RATE = 16000
N_FFT = 512
HOP = 160  # 10 ms
HALF_FRAMES = 50  # frames per half second
LINEAR_BANDS = 40
LFCC_COEFFICIENTS = 20
PHASE_BANDS = 16
ACTIVE_FLOOR_DB = -35.0
PEAK_FLOOR_DB = -40.0
WIDTH = 2 * LFCC_COEFFICIENTS + 3 * PHASE_BANDS + 1  # values per frame
VERSION = "artifacts-1"
# What each front-end name reads: the Whisper encoder's statistics (features.py), these artifact
# features, the DistillMOS quality model's transformer states and its CNN's outputs (quality.py),
# joined in this order.
COMPONENTS = {"whisper": ("whisper",), "artifacts": ("artifacts",), "both": ("whisper", "artifacts"),
              "quality": ("quality",), "signal": ("artifacts", "quality"), "encoders": ("whisper", "quality"),
              "all": ("whisper", "artifacts", "quality"), "cnn": ("cnn",),
              "all-cnn": ("whisper", "artifacts", "cnn"), "full": ("whisper", "artifacts", "quality", "cnn")}
FRONT_ENDS = tuple(COMPONENTS)


@dataclass(frozen=True)
class HalfSums:
    """Per half second: sum and sum of squares of each frame value over the active frames, and their count."""

    total: np.ndarray  # [halves, WIDTH] float64
    square: np.ndarray  # [halves, WIDTH] float64
    count: np.ndarray  # [halves] float64


@lru_cache(maxsize=1)
def _filters() -> tuple[np.ndarray, np.ndarray]:
    """(linear triangular filter bank [bands, bins], DCT-II matrix [coefficients, bands])."""
    bins = N_FFT // 2 + 1
    edges = np.linspace(0, bins - 1, LINEAR_BANDS + 2)
    index = np.arange(bins)[None]
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.maximum(0, np.minimum((index - low) / (centre - low), (high - index) / (high - centre)))
    n = np.arange(LINEAR_BANDS)
    dct = np.cos(np.pi / LINEAR_BANDS * (n[None] + 0.5) * np.arange(LFCC_COEFFICIENTS)[:, None])
    return bank.astype(np.float64), dct * np.sqrt(2 / LINEAR_BANDS)


def _stft(x: np.ndarray) -> np.ndarray:
    """[frames, bins] complex; frame t is centred on sample t * HOP (reflect-padded ends)."""
    frames = max(1, int(np.ceil(x.size / HOP)))
    padded = np.pad(x.astype(np.float64), (N_FFT // 2, N_FFT // 2 + frames * HOP - x.size + 1),
                    mode="reflect" if x.size > N_FFT // 2 else "constant")
    view = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:frames]
    return np.fft.rfft(view * np.hanning(N_FFT + 2)[1:-1], axis=1)


def _wrap(phase: np.ndarray) -> np.ndarray:
    return (phase + np.pi) % (2 * np.pi) - np.pi


def _band_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of [frames, 256] values within each of the 16 bands (0 where no weight)."""
    shape = (values.shape[0], PHASE_BANDS, -1)
    v = values[:, 1:].reshape(shape)
    w = weights[:, 1:].reshape(shape)
    total = w.sum(axis=2)
    return np.divide((v * w).sum(axis=2), total, out=np.zeros_like(total), where=total > 0)


def frame_values(samples16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([frames, WIDTH] values, [frames] bool active) for 16 kHz audio."""
    x = np.asarray(samples16k, dtype=np.float64)
    spectrum = _stft(x)
    magnitude = np.abs(spectrum)
    power = np.square(magnitude)
    bank, dct = _filters()
    energy_db = 10 * np.log10(power.sum(axis=1) + 1e-12)
    reference = np.percentile(energy_db, 95) if energy_db.size else 0.0
    active = energy_db > reference + ACTIVE_FLOOR_DB

    lfcc = np.log(power @ bank.T + 1e-10) @ dct.T
    delta = np.gradient(lfcc, axis=0) if lfcc.shape[0] > 1 else np.zeros_like(lfcc)

    # Harmonic peaks: local maxima along frequency, within 40 dB of the frame's strongest bin.
    level = 20 * np.log10(magnitude + 1e-9)
    peaks = np.zeros(magnitude.shape, bool)
    peaks[:, 1:-1] = (magnitude[:, 1:-1] > magnitude[:, :-2]) & (magnitude[:, 1:-1] >= magnitude[:, 2:])
    peaks &= level > level.max(axis=1, keepdims=True) + PEAK_FLOOR_DB
    bins = np.arange(magnitude.shape[1])
    # Phase advance per hop minus a bin-centred partial's, then its change from one hop to the next.
    advance = np.zeros(magnitude.shape)
    advance[1:] = _wrap(np.angle(spectrum[1:] * np.conj(spectrum[:-1])) - 2 * np.pi * bins * HOP / N_FFT)
    acceleration = np.zeros(magnitude.shape)
    acceleration[2:] = np.abs(_wrap(advance[2:] - advance[1:-1]))
    steady = peaks.copy()
    steady[:2] = False
    # Group delay around the frame centre: phase step between neighbouring bins, less the centre's pi.
    delay = np.zeros(magnitude.shape, complex)
    delay[:, 1:] = np.exp(1j * _wrap(np.angle(spectrum[:, 1:] * np.conj(spectrum[:, :-1])) + np.pi))
    shape = (magnitude.shape[0], PHASE_BANDS, -1)
    peak_w = peaks[:, 1:].reshape(shape)
    counts = peak_w.sum(axis=2)
    coherence = np.divide(np.abs((delay[:, 1:].reshape(shape) * peak_w).sum(axis=2)), counts,
                          out=np.zeros(counts.shape), where=counts > 0)
    phase = np.concatenate([_band_mean(acceleration, steady.astype(float)), peak_w.mean(axis=2), coherence], axis=1)

    # Cepstral peak prominence over 50-400 Hz (quefrency 40-320 samples).
    cepstrum = np.fft.irfft(np.log(magnitude + 1e-9), axis=1)
    quefrency = np.arange(40, 321)
    c = cepstrum[:, quefrency]
    slope, intercept = np.polyfit(quefrency, c.T, 1)
    trend = slope[:, None] * quefrency[None] + intercept[:, None]
    cpp = (c - trend).max(axis=1, keepdims=True)

    values = np.concatenate([lfcc, delta, phase, cpp], axis=1)
    return values.astype(np.float32), active


def pool_halves(values: np.ndarray, active: np.ndarray, halves: int, half_frames: int) -> HalfSums:
    """Sums, sums of squares and counts of the active frames' values per half second.

    ``values`` [frames, width] and ``active`` [frames] (0/1) are cut or zero-padded to ``halves``
    half seconds of ``half_frames`` frames each; every frame-based front end pools this way.
    """
    frames = halves * half_frames
    v = np.zeros((frames, values.shape[1]))
    a = np.zeros(frames)
    v[: values.shape[0]] = values[:frames]
    a[: active.shape[0]] = active[:frames]
    v = v.reshape(halves, half_frames, -1)
    a = a.reshape(halves, half_frames, 1)
    return HalfSums((v * a).sum(axis=1), (np.square(v) * a).sum(axis=1), a[:, :, 0].sum(axis=1))


def half_sums(samples16k: np.ndarray) -> HalfSums:
    """Statistics of the active frames per half second (one row per started half second)."""
    x = np.asarray(samples16k, dtype=np.float32)
    values, active = frame_values(x)
    return pool_halves(values, active, max(1, int(np.ceil(x.size / (HALF_FRAMES * HOP)))), HALF_FRAMES)


def window_features(sums: HalfSums) -> np.ndarray:
    """[windows, 2 x WIDTH]: mean and standard deviation over one-second windows (hop 0.5 s).

    The windows are those of ``features.window_features`` (two adjacent halves; one for a clip of
    one half second). A window without an active frame is all zeros.
    """
    total, square, count = sums.total, sums.square, sums.count
    if total.shape[0] >= 2:
        total, square, count = total[:-1] + total[1:], square[:-1] + square[1:], count[:-1] + count[1:]
    n = np.maximum(count, 1)[:, None]
    mean = total / n
    std = np.sqrt(np.maximum(square / n - np.square(mean), 0))
    return np.concatenate([mean, std], axis=1).astype(np.float32)


def join(front_end: str, encoder_windows: np.ndarray | None, sums: HalfSums | None,
         quality_sums: HalfSums | None = None, cnn_sums: HalfSums | None = None) -> np.ndarray:
    """The classifier's input per window for ``front_end`` (one of FRONT_ENDS), as trained and as run."""
    parts = []
    pooled = {"artifacts": sums, "quality": quality_sums, "cnn": cnn_sums}
    for component in COMPONENTS[front_end]:
        parts.append(encoder_windows if component == "whisper" else window_features(pooled[component]))
    rows = min(part.shape[0] for part in parts)
    return parts[0] if len(parts) == 1 else np.concatenate([part[:rows] for part in parts], axis=1)
