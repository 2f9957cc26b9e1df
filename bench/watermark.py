"""Benchmark of the DSP watermark: robustness per attack, false positives, quality and speed.

    OMP_NUM_THREADS=1 .venv/bin/python bench/watermark.py [--clips 50] [--json-only]

Prints one JSON object and then a Markdown table. Test speech is synthesized offline with the
Piper voice (tests/speech.py) and cached; the attacks are made with ffmpeg, NumPy and SciPy.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core, as the speed target asks

import argparse
import json
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from tests.speech import SENTENCES, speech  # noqa: E402
from watermark import dsp  # noqa: E402


def ffmpeg_roundtrip(samples: np.ndarray, sr: int, args: list[str], container: str, out_sr: int | None = None) -> np.ndarray:
    """Encode float samples with ffmpeg ``args`` into ``container``, decode back to float at ``sr``."""
    encode = ["ffmpeg", "-v", "error", "-nostdin", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i", "pipe:0",
              *args, "-f", container, "pipe:1"]
    coded = subprocess.run(encode, input=np.asarray(samples, np.float32).tobytes(), capture_output=True, check=True).stdout
    decode = ["ffmpeg", "-v", "error", "-nostdin", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", str(out_sr or sr),
              "pipe:1"]
    return np.frombuffer(subprocess.run(decode, input=coded, capture_output=True, check=True).stdout, np.float32).copy()


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    ratio = Fraction(sr_to, sr_from)
    return resample_poly(samples, ratio.numerator, ratio.denominator)


def white_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = np.mean(samples ** 2) / 10 ** (snr_db / 10)
    return samples + rng.normal(0.0, np.sqrt(power), samples.size)


Attack = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def attacks(unmarked_pool: list[np.ndarray]) -> dict[str, Attack]:
    def crop3(x, sr, rng):
        start = int(rng.integers(0, max(1, x.size - 3 * sr)))
        return x[start:start + 3 * sr]

    def splice(x, sr, rng):
        a, b = (unmarked_pool[int(i)] for i in rng.choice(len(unmarked_pool), 2, replace=False))
        return np.concatenate([resample(a, 16000, sr)[: 2 * sr], crop3(x, sr, rng), resample(b, 16000, sr)[: 2 * sr]])

    return {
        "none": lambda x, sr, rng: x,
        "mp3_64k": lambda x, sr, rng: ffmpeg_roundtrip(x, sr, ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"),
        "aac_64k": lambda x, sr, rng: ffmpeg_roundtrip(x, sr, ["-c:a", "aac", "-b:a", "64k"], "adts"),
        "opus_32k": lambda x, sr, rng: ffmpeg_roundtrip(x, sr, ["-c:a", "libopus", "-b:a", "32k", "-ar", "48000"],
                                                        "ogg"),
        "resample_16k": lambda x, sr, rng: resample(resample(x, sr, 16000), 16000, sr),
        "resample_8k": lambda x, sr, rng: resample(resample(x, sr, 8000), 8000, sr),
        "noise_20db": lambda x, sr, rng: white_noise(x, 20.0, rng),
        "gain_-20db": lambda x, sr, rng: x * 10 ** (-20 / 20),
        "gain_+10db_clipped": lambda x, sr, rng: np.clip(x * 10 ** (10 / 20), -1, 1),
        "lowpass_4k": lambda x, sr, rng: ffmpeg_roundtrip(x, sr, ["-af", "lowpass=f=4000:poles=2", "-c:a", "pcm_f32le"],
                                                          "wav"),
        "crop_3s": crop3,
        "splice_3s": splice,
        "time_stretch_+5%": lambda x, sr, rng: ffmpeg_roundtrip(x, sr, ["-af", "atempo=1.05", "-c:a", "pcm_f32le"],
                                                                "wav"),
        "pitch_+5%": lambda x, sr, rng: resample(x, sr, int(round(sr * 1.05))) * 1.0,  # played at sr: pitch and speed +5%
    }
