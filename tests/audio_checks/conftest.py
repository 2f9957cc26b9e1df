"""Recordings the audio-check tests synthesize themselves (cached on disk by voices.py)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.audio_checks.voices import SENTENCES, espeak_speech, piper_speech, with_silence

RATE = 22050


@pytest.fixture(scope="session")
def piper_reference() -> np.ndarray:
    """About 9 s of the Piper joe voice: two sentences with short pauses (22.05 kHz)."""
    first, _ = piper_speech(SENTENCES[0])
    second, _ = piper_speech(SENTENCES[2])
    return with_silence(np.concatenate([first, second]), RATE)


@pytest.fixture(scope="session")
def espeak_reference() -> np.ndarray:
    first, _ = espeak_speech(SENTENCES[0])
    second, _ = espeak_speech(SENTENCES[2])
    return with_silence(np.concatenate([first, second]), RATE)
