"""The DSP payload watermark on real synthesized speech: round trip, attacks, false positives,
streaming, quality."""
from __future__ import annotations

import numpy as np
import pytest
from pesq import pesq

from tests.speech import SENTENCES, speech
from tests.watermark.attacks import ATTACKS, resample
from watermark import dsp

PAYLOAD = bytes.fromhex("c0ffee42")


def _clip(sr: int, first: int, count: int = 2) -> np.ndarray:
    return np.concatenate([speech(s, "piper", sr) for s in SENTENCES[first:first + count]]).astype(np.float64)


@pytest.fixture(scope="module")
def marked16() -> tuple[np.ndarray, np.ndarray]:
    host = _clip(16000, 0)
    return host, dsp.embed(host, 16000, PAYLOAD).astype(np.float64)


@pytest.mark.parametrize("sr", [16000, 22050, 24000, 44100, 48000])
def test_round_trip_recovers_payload_and_covers_the_clip(sr):
    host = _clip(22050, 2) if sr in (44100, 48000) else _clip(sr, 2)
    if sr in (44100, 48000):
        host = resample(host, 22050, sr)
    marked = dsp.embed(host, sr, PAYLOAD)
    assert marked.dtype == np.float32 and marked.shape == host.shape
    found = dsp.detect(marked, sr)
    assert found.detected and found.payload == PAYLOAD and found.crc_ok
    assert found.confidence == 1.0
    duration = host.size / sr
    covered = sum(end - start for start, end in found.segments)
    assert covered > 0.8 * duration


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_payload_survives_attack(marked16, name):
    _, marked = marked16
    attacked = ATTACKS[name](marked, 16000)
    found = dsp.detect(attacked, 16000)
    assert found.detected, f"{name}: z={found.z_score:.1f} < {found.threshold_z:.1f}"
    assert found.payload == PAYLOAD


def test_detection_works_on_8khz_input(marked16):
    _, marked = marked16
    found = dsp.detect(resample(marked, 16000, 8000), 8000)
    assert found.payload == PAYLOAD


@pytest.mark.parametrize("offset_s", [0.0, 0.77, 2.013, 4.5])
def test_any_three_second_excerpt_decodes(marked16, offset_s):
    _, marked = marked16
    start = int(offset_s * 16000)
    excerpt = ATTACKS["mp3_64k"](marked[start:start + 3 * 16000], 16000)
    assert dsp.detect(excerpt, 16000).payload == PAYLOAD


def test_splice_between_unmarked_speech_is_found_and_localised(marked16):
    _, marked = marked16
    before, after = _clip(16000, 6, 1)[: 4 * 16000], _clip(16000, 7, 1)[: 4 * 16000]
    middle = marked[16000:5 * 16000]  # 4 s of marked speech
    spliced = np.concatenate([before, middle, after])
    found = dsp.detect(spliced, 16000)
    assert found.payload == PAYLOAD
    start_s, end_s = before.size / 16000, (before.size + middle.size) / 16000
    assert found.segments, "a detected mark must say where it is"
    for seg_start, seg_end in found.segments:
        assert seg_start > start_s - 1.0 and seg_end < end_s + 1.0
    assert max(e for _, e in found.segments) - min(s for s, _ in found.segments) > 2.0


def _unmarked_signals() -> dict[str, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(7)
    t = np.arange(10 * 16000) / 16000
    chord = sum(np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t)) for f in (220, 277, 330, 440))
    signals = {f"speech_{i}": (_clip(16000, i, 1), 16000) for i in range(0, 12, 2)}
    signals.update({
        "speech_22k": (_clip(22050, 3, 1), 22050),
        "espeak": (speech(SENTENCES[5], "espeak", 16000).astype(np.float64), 16000),
        "white_noise": (rng.normal(0, 0.1, 10 * 16000), 16000),
        "tone_1k": (0.5 * np.sin(2 * np.pi * 1000 * t), 16000),
        "chord": (0.2 * chord, 16000),
        "silence": (np.zeros(5 * 16000), 16000),
        "noisy_speech_8k": (resample(ATTACKS["noise_20db"](_clip(16000, 4, 1), 16000), 16000, 8000), 8000),
    })
    return signals


def test_no_false_detection_on_unmarked_audio():
    for name, (samples, sr) in _unmarked_signals().items():
        found = dsp.detect(samples, sr)
        assert not found.detected and found.payload is None, name
        assert found.confidence < 0.5 and found.false_positive_bound > dsp.FALSE_POSITIVE_TARGET, name


def test_detection_threshold_follows_the_stated_bound(marked16):
    _, marked = marked16
    found = dsp.detect(marked, 16000)
    # The bound is hypotheses * exp(-z^2); at threshold_z it equals the 1e-6 target.
    assert found.hypotheses * np.exp(-found.threshold_z ** 2) == pytest.approx(1e-6, rel=1e-3)
    assert found.false_positive_bound <= 1e-6


def test_statistic_on_unmarked_speech_has_the_tail_the_bound_assumes():
    """Over random keys, one fixed hypothesis's z on unmarked speech is a sum of a_j cos(uniform)
    terms: variance 1/2, tail below exp(-t^2) (the bound); Hoeffding's range-only proxy would be 1."""
    tiles = dsp._tile_energy(dsp._band_energy(dsp._stft(dsp._to_internal(_clip(16000, 0), 16000))))
    folded = dsp._fold(dsp._phasors(tiles), 0, slice(None))
    norm = np.sqrt(np.sum(np.abs(folded) ** 2))
    rng = np.random.default_rng(0)
    values = []
    for _ in range(1500):
        layout = dsp._layout(rng.bytes(16))
        expected = 1.0 - 2.0 * dsp._coded_pattern(PAYLOAD, layout)
        values.append(np.sum(np.real(folded * np.exp(-2j * np.pi * layout.dither / dsp.STEPS_DB)) * expected) / norm)
    values = np.array(values)
    assert abs(values.mean()) < 0.06 and 0.43 < values.var() < 0.57
    for t in (1.0, 1.5, 2.0):
        assert np.mean(values >= t) <= np.exp(-t ** 2)


def test_chunked_marking_decodes_like_whole_clip():
    sr = 22050
    host = _clip(sr, 4)
    whole = dsp.embed(host, sr, PAYLOAD)
    streamer = dsp.StreamingEmbedder(sr, PAYLOAD)
    rng = np.random.default_rng(3)
    pieces, position = [], 0
    while position < host.size:
        size = int(rng.integers(64, 6000))
        pieces.append(streamer.push(host[position:position + size]))
        position += size
    pieces.append(streamer.flush())
    chunked = np.concatenate(pieces)
    assert chunked.shape == host.shape
    assert sum(p.size > 0 for p in pieces) > 3, "output must be produced while the stream runs"
    whole_found, chunk_found = dsp.detect(whole, sr), dsp.detect(chunked, sr)
    assert chunk_found.payload == PAYLOAD
    assert chunk_found.z_score == pytest.approx(whole_found.z_score, rel=0.05)
    excerpt = chunked[int(1.3 * sr):int(4.3 * sr)]
    assert dsp.detect(excerpt, sr).payload == PAYLOAD


@pytest.mark.parametrize("sr", [16000, 22050, 24000])
def test_mark_is_quiet_snr_and_pesq(sr):
    host = _clip(sr, 8)
    marked = dsp.embed(host, sr, PAYLOAD).astype(np.float64)
    snr = 10 * np.log10(np.sum(host ** 2) / np.sum((marked - host) ** 2))
    assert snr >= 25.0
    ref, deg = (host, marked) if sr == 16000 else (resample(host, sr, 16000), resample(marked, sr, 16000))
    assert pesq(16000, ref, deg, "wb") >= 4.2


def test_payload_must_be_32_bits():
    with pytest.raises(ValueError, match="4 bytes"):
        dsp.embed(np.zeros(16000), 16000, b"\x01\x02")
    with pytest.raises(ValueError):
        dsp.StreamingEmbedder(16000, b"toolong!")


def test_short_or_empty_input_is_not_detected():
    assert not dsp.detect(np.zeros(100), 16000).detected
    assert dsp.embed(np.zeros(0), 16000, PAYLOAD).size == 0
