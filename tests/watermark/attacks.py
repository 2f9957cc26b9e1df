"""Attacks made independently of the project's audio helpers: ffmpeg subprocesses, NumPy, SciPy."""
from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly


def ffmpeg(samples: np.ndarray, sr: int, args: list[str], container: str) -> np.ndarray:
    encode = ["ffmpeg", "-v", "error", "-nostdin", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i", "pipe:0",
              *args, "-f", container, "pipe:1"]
    coded = subprocess.run(encode, input=np.asarray(samples, np.float32).tobytes(), capture_output=True,
                           check=True).stdout
    decode = ["ffmpeg", "-v", "error", "-nostdin", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", str(sr), "pipe:1"]
    return np.frombuffer(subprocess.run(decode, input=coded, capture_output=True, check=True).stdout,
                         np.float32).copy()


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    ratio = Fraction(sr_to, sr_from)
    return resample_poly(samples, ratio.numerator, ratio.denominator)


def white_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    power = float(np.mean(np.square(samples))) / 10 ** (snr_db / 10)
    return samples + np.random.default_rng(seed).normal(0.0, np.sqrt(power), samples.size)


ATTACKS = {
    "mp3_64k": lambda x, sr: ffmpeg(x, sr, ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"),
    "aac_64k": lambda x, sr: ffmpeg(x, sr, ["-c:a", "aac", "-b:a", "64k"], "adts"),
    "opus_64k": lambda x, sr: ffmpeg(x, sr, ["-c:a", "libopus", "-b:a", "64k", "-ar", "48000"], "ogg"),
    "resample_16k": lambda x, sr: resample(resample(x, sr, 16000), 16000, sr),
    "resample_8k": lambda x, sr: resample(resample(x, sr, 8000), 8000, sr),
    "noise_20db": lambda x, sr: white_noise(x, 20.0),
    "gain_-20db": lambda x, sr: x * 0.1,
    "gain_+10db_clipped": lambda x, sr: np.clip(x * 10 ** 0.5, -1.0, 1.0),
    "lowpass_4k": lambda x, sr: ffmpeg(x, sr, ["-af", "lowpass=f=4000", "-c:a", "pcm_f32le"], "wav"),
}


def sox(samples: np.ndarray, sr: int, effect: list[str]) -> np.ndarray:
    raw = ["-t", "f32", "-r", str(sr), "-c", "1"]
    out = subprocess.run(["sox", *raw, "-", *raw, "-", *effect], input=np.asarray(samples, np.float32).tobytes(),
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, np.float32).astype(np.float64)


def playback_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Played ``factor`` times faster (a resampled clip played at the original rate): pitch up, shorter."""
    ratio = Fraction(factor).limit_denominator(400)
    return resample_poly(samples, ratio.denominator, ratio.numerator)


SEMITONE = 2 ** (1 / 12)
# Speed, tempo and pitch changes: (attack, factor) -> samples. Tempo keeps pitch, pitch keeps tempo.
WARP_ATTACKS = {
    "speed": lambda x, sr, f: playback_speed(x, f),
    "atempo": lambda x, sr, f: ffmpeg(x, sr, ["-af", f"atempo={f}", "-c:a", "pcm_f32le"], "wav"),
    "sox_tempo": lambda x, sr, f: sox(x, sr, ["tempo", "-s", f"{f}"]),
    "rubberband_tempo": lambda x, sr, f: ffmpeg(x, sr, ["-af", f"rubberband=tempo={f}", "-c:a", "pcm_f32le"], "wav"),
    "sox_pitch": lambda x, sr, f: sox(x, sr, ["pitch", f"{1200 * np.log2(f):.2f}"]),
    "rubberband_pitch": lambda x, sr, f: ffmpeg(x, sr, ["-af", f"rubberband=pitch={f}", "-c:a", "pcm_f32le"], "wav"),
}
