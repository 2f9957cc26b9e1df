"""The DSP watermark after playback-speed, tempo and pitch changes (the detector's warp search)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.speech import SENTENCES, speech
from tests.watermark.attacks import ATTACKS, SEMITONE, WARP_ATTACKS
from watermark import dsp

PAYLOAD = bytes.fromhex("5eed1e55")


@pytest.fixture(scope="module")
def marked() -> np.ndarray:
    host = np.concatenate([speech(s, "piper", 16000) for s in SENTENCES[2:4]]).astype(np.float64)
    return dsp.embed(host, 16000, PAYLOAD).astype(np.float64)


@pytest.mark.parametrize("attack, factor, time_scale, freq_scale", [
    ("speed", 0.9, 1 / 0.9, 0.9),
    ("speed", 1.1, 1 / 1.1, 1.1),
    ("atempo", 0.9, 1 / 0.9, 1.0),
    ("atempo", 1.1, 1 / 1.1, 1.0),
    ("sox_tempo", 1.05, 1 / 1.05, 1.0),
    ("rubberband_tempo", 0.95, 1 / 0.95, 1.0),
    ("sox_pitch", SEMITONE, 1.0, SEMITONE),
    ("rubberband_pitch", 1 / SEMITONE, 1.0, 1 / SEMITONE),
])
def test_payload_survives_warp_and_mp3(marked, attack, factor, time_scale, freq_scale):
    attacked = ATTACKS["mp3_64k"](WARP_ATTACKS[attack](marked, 16000, factor), 16000)
    found = dsp.detect(attacked, 16000)
    assert found.detected and found.payload == PAYLOAD, f"{attack} {factor}: z={found.z_score:.1f}"
    # The warp it reports is the one applied, within the grid's reach.
    assert found.time_scale == pytest.approx(time_scale, rel=0.01)
    assert found.freq_scale == pytest.approx(freq_scale, rel=0.01)


@pytest.mark.parametrize("attack, factor", [("speed", 1.07), ("sox_tempo", 0.93), ("sox_pitch", 1 / SEMITONE)])
def test_three_second_excerpt_of_a_warped_clip_decodes(marked, attack, factor):
    warped = WARP_ATTACKS[attack](marked, 16000, factor)
    excerpt = warped[16000:4 * 16000]
    assert dsp.detect(excerpt, 16000).payload == PAYLOAD


@pytest.mark.parametrize("attack, factor", [("rubberband_tempo", 1.1), ("rubberband_pitch", SEMITONE)])
def test_three_second_excerpt_survives_a_phase_vocoder_and_mp3(marked, attack, factor):
    """Rubberband's phase vocoder leaves ~1.5 dB of noise on every ratio: the step-weighted decoding
    and the exp(-z^2) bound find 3 s excerpts that the flat decoding under Hoeffding's bound missed."""
    excerpt = ATTACKS["mp3_64k"](WARP_ATTACKS[attack](marked, 16000, factor)[16000:4 * 16000], 16000)
    found = dsp.detect(excerpt, 16000)
    assert found.detected and found.payload == PAYLOAD, f"{attack}: z={found.z_score:.1f} < {found.threshold_z:.1f}"


def test_segments_are_in_the_received_clips_seconds(marked):
    faster = WARP_ATTACKS["speed"](marked, 16000, 1.1)
    silence = np.zeros(2 * 16000)
    found = dsp.detect(np.concatenate([silence, faster, silence]), 16000)
    assert found.payload == PAYLOAD
    start, end = found.segments[0][0], found.segments[-1][1]
    duration = faster.size / 16000
    # As unwarped: within a localisation window (~0.8 s) of the marked audio's edges.
    assert 1.0 < start < 2.8 and 2.0 + 0.8 * duration < end < 3.0 + duration


def test_unmarked_speech_is_not_detected_under_the_search():
    for first in (0, 5, 9):
        host = np.concatenate([speech(s, "piper", 16000) for s in SENTENCES[first:first + 2]]).astype(np.float64)
        for samples in (host, WARP_ATTACKS["speed"](host, 16000, 1.05)):
            found = dsp.detect(samples, 16000)
            assert not found.detected and found.false_positive_bound > dsp.FALSE_POSITIVE_TARGET


def test_bound_counts_the_warp_grid(marked):
    found = dsp.detect(WARP_ATTACKS["speed"](marked, 16000, 1.05), 16000)
    unwarped = dsp.detect(marked, 16000)
    assert found.hypotheses > 100 * unwarped.hypotheses  # every grid warp x anchor is in the union
    assert found.hypotheses * np.exp(-found.threshold_z ** 2) == pytest.approx(1e-6, rel=1e-3)
