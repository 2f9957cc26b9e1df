"""Speaker embeddings (Resemblyzer's GE2E encoder, weights shipped in the package).

Plain functions over arrays: consent verification, the one-speaker check, the protected-voice
screen, enrollment's objective and the safety check all use these, so the figures they
report are comparable.
"""
from __future__ import annotations

import threading

import numpy as np

from voicegate.audio import resample
from voicegate.loading import load_once

ENCODER_RATE = 16000
_lock = threading.Lock()


@load_once
def _encoder():
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


def _prepare(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    from resemblyzer import preprocess_wav

    wav16 = resample(np.asarray(samples, dtype=np.float32), sample_rate, ENCODER_RATE)
    # preprocess_wav normalises loudness and trims long silences, as the encoder was trained.
    return preprocess_wav(wav16, source_sr=ENCODER_RATE)


def embed_speaker(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """A 256-d L2-normalised utterance embedding."""
    wav = _prepare(samples, sample_rate)
    if wav.size < ENCODER_RATE // 2:
        raise ValueError("too little speech to compute a speaker embedding (under 0.5 s after trimming silence)")
    with _lock:  # the torch module is not re-entrant across threads
        embedding = _encoder().embed_utterance(wav)
    return (embedding / (np.linalg.norm(embedding) + 1e-9)).astype(np.float32)


def embed_windows(samples: np.ndarray, sample_rate: int, window_s: float = 1.6,
                  hop_s: float = 0.8) -> np.ndarray:
    """Embeddings of overlapping windows (rows), for the one-speaker consistency check."""
    wav = _prepare(samples, sample_rate)
    window, hop = int(window_s * ENCODER_RATE), int(hop_s * ENCODER_RATE)
    if wav.size < window:
        return embed_speaker(samples, sample_rate)[None, :]
    rows = []
    with _lock:
        encoder = _encoder()
        for start in range(0, wav.size - window + 1, hop):
            rows.append(encoder.embed_utterance(wav[start:start + window]))
    matrix = np.stack(rows).astype(np.float32)
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9)


def speaker_similarity(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    return float(np.dot(a, b) / ((np.linalg.norm(a) * np.linalg.norm(b)) + 1e-9))


def mean_embedding(embeddings: list[np.ndarray]) -> np.ndarray:
    mean = np.mean(np.stack(embeddings), axis=0)
    return (mean / (np.linalg.norm(mean) + 1e-9)).astype(np.float32)
