"""The DSP payload watermark through Ogg Opus at 32 kbps, the lowest bitrate the issue requires.

At 32 kbps mono, libopus codes speech in SILK/hybrid mode, which keeps the spectral envelope but
re-synthesises fine structure; the encode is made here with ffmpeg, independently of the project.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.speech import SENTENCES, speech
from tests.watermark.attacks import ffmpeg
from watermark import dsp

PAYLOAD = bytes.fromhex("5eed0a32")


def _opus_32k(samples: np.ndarray, sr: int) -> np.ndarray:
    return ffmpeg(samples, sr, ["-c:a", "libopus", "-b:a", "32k", "-ar", "48000"], "ogg")


@pytest.mark.parametrize("sr, first", [(16000, 1), (22050, 5), (24000, 9)])
def test_payload_survives_ogg_opus_32k(sr, first):
    host = np.concatenate([speech(s, "piper", sr) for s in SENTENCES[first:first + 2]]).astype(np.float64)
    marked = dsp.embed(host, sr, PAYLOAD)
    found = dsp.detect(_opus_32k(marked, sr), sr)
    assert found.detected, f"z={found.z_score:.1f} < {found.threshold_z:.1f}"
    assert found.payload == PAYLOAD
    assert found.false_positive_bound <= dsp.FALSE_POSITIVE_TARGET


def test_unmarked_speech_through_opus_32k_is_not_detected():
    host = np.concatenate([speech(s, "piper", 16000) for s in SENTENCES[3:5]]).astype(np.float64)
    found = dsp.detect(_opus_32k(host, 16000), 16000)
    assert not found.detected and found.payload is None
