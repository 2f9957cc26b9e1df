"""Recordings for the web tests, synthesized offline (Piper joe voice) and cached by tests.speech."""
from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from tests.speech import SENTENCES, speech

RATE = 22050


def reference_samples() -> np.ndarray:
    """About 9 s of one speaker: two sentences with a short pause, as a reference would be."""
    pause = np.zeros(int(0.3 * RATE), np.float32)
    return np.concatenate([pause, speech(SENTENCES[0], sample_rate=RATE), pause,
                           speech(SENTENCES[2], sample_rate=RATE), pause])


def wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def reference_wav() -> bytes:
    return wav(reference_samples())


def noisy_reference_wav(snr_db: float = 3.0) -> bytes:
    clean = reference_samples()
    rng = np.random.default_rng(7)
    speech_power = float(np.mean(clean[np.abs(clean) > 0.02] ** 2))
    noise = rng.normal(0.0, np.sqrt(speech_power / 10 ** (snr_db / 10)), clean.size).astype(np.float32)
    return wav(np.clip(clean + noise, -1, 1))


def spoken_wav(text: str) -> bytes:
    pause = np.zeros(int(0.3 * RATE), np.float32)
    return wav(np.concatenate([pause, speech(text, sample_rate=RATE), pause]))
