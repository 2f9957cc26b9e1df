"""The detector's training protocol (safety/detector/train.py) on small made-up feature tables.

Training itself is not part of the test suite (an hour on 2 cores); these check the choices that
decide what the committed threshold means: that it is set on human speakers the scoring model
never saw, so a speaker unlike the training ones does not sit above it by surprise.
"""
from __future__ import annotations

import argparse

import numpy as np

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
