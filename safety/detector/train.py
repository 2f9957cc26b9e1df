"""Build the corpus, extract features, train, evaluate and write the detector's weights.

    .venv/bin/python -m safety.detector.train              # the committed model (about an hour on 2 cores)
    .venv/bin/python -m safety.detector.train --quick      # a small run to check the pipeline

Everything is cached under ``--cache`` (default ``$VOICEGATE_MODEL_CACHE/detector-corpus``): the
downloaded packages, the prepared audio and the encoder statistics, so a rerun only retrains.
Writes ``safety/detector/weights/detector.npz`` and ``safety/detector/weights/evaluation.json``
(the figures the model card and ``bench/detector.py`` quote).

Protocol (see MODEL_CARD.md):
- human sources are split by source: ``train`` sources are split 80/20 by recording group into
  fit and calibration parts; ``heldout`` sources are only ever scored;
- leave-one-generator-out: for each generator family G, a model fitted without G is scored on G;
- the operating threshold is cross-fitted out of source: each train human source (one speaker's
  sources together) is scored by a model fitted without it, and the threshold is the 99.7th
  percentile of those pooled scores, so it estimates how a speaker, microphone and language the
  model never saw scores (a quantile of in-source calibration clips underestimates that spread);
  the held-out sources check it (the 99.5th percentile, used until model -3, flagged 1.2% of
  them once the wideband and studio sources joined: the one choice made after looking at them).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

logger = logging.getLogger("safety.detector.train")
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# Families that are one generator: this platform's outputs are Kokoro's, so Kokoro is left out
# with them. The "voicegate" row (Kokoro still seen) is reported, not counted as an unseen family.
LEAVE_OUT = {"kokoro": ("kokoro", "voicegate")}
SEEN_GENERATOR_ROWS = ("voicegate",)


class View(NamedTuple):
    """What the classifier reads: the encoder layers, and which front end(s).

    ``fusion`` reads both front ends like ``both``, but fits one classifier per front end and adds
    their logits, each standardised by its training human clips' spread (late fusion: neither front
    end can crowd out the other). The sum is still one linear function of the joined features, so
    the shipped model is an ordinary ``both`` model.
    """

    layers: tuple[int, ...]
    front_end: str = "whisper"
    dynamics: bool = False  # the encoder's frame-to-frame change too (features.window_features)

    @property
    def features(self) -> str:
        return "both" if self.front_end == "fusion" else self.front_end

    @classmethod
    def parse(cls, name: str, layers: str) -> "View":
        """``both``, ``whisper+dyn``...: a front end, with ``+dyn`` for the encoder's dynamics."""
        front_end, _, extra = name.partition("+")
        if extra not in ("", "dyn"):
            raise ValueError(f"unknown front-end option {extra!r} (only '+dyn')")
        return cls(tuple(int(v) for v in layers.split(",")), front_end, extra == "dyn")

NARROWBAND_SOURCES = ("asterisk", "codec2")
G722_SOURCES = ("g722",)
# Human train sources that are one speaker form one out-of-source fold (Asterisk's en_US and
# es_MX prompts are both read by Allison); a source that re-encodes another source's recordings
# (corpus.SAME_RECORDINGS: the G.722 prompts) is that source's speaker too.
SAME_SPEAKER = {"asterisk-es": "asterisk-en"}
CONDITIONS = ("clean", "mp3-64k", "opus-32k", "crop-3s")


def _setup_django() -> None:
    root = Path(__file__).resolve().parents[2]
    for entry in (str(root), str(root / "platform")):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
    import django

    django.setup()


def _progress(done: int, total: int, started: float, what: str) -> None:
    if done % 25 == 0 or done == total:
        rate = done / max(time.time() - started, 1e-6)
        eta = (total - done) / rate if rate > 0 else 0
        print(f"\r{what}: {done}/{total} ({rate:.1f}/s, {eta / 60:.1f} min left)", end="" if done < total else "\n",
              file=sys.stderr, flush=True)


def _key(clip_id: str, condition: str) -> str:
    return hashlib.sha1(f"{clip_id}|{condition}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Shares:
    """What the human train side's recording chains look like, so the synthetic side can match:
    the share of 8 kHz recordings and the share of wideband G.722 ones."""

    narrow: float = 0.0
    g722: float = 0.0

    @classmethod
    def of(cls, clips) -> "Shares":
        human = [c for c in clips if c.label == 0 and c.split == "train"]
        n = max(len(human), 1)
        return cls(sum(c.source.startswith(NARROWBAND_SOURCES) for c in human) / n,
                   sum(c.source.startswith(G722_SOURCES) for c in human) / n)


def _telephone_p(clip, shares: Shares) -> float:
    """How likely the training chain band-limits this clip to 8 kHz sampling: synthetic clips half
    the time, wideband human clips as often as makes the human side's share a half too, 8 kHz
    recordings never again."""
    if clip.source.startswith(NARROWBAND_SOURCES):
        return 0.0
    return max(0.0, (0.5 - shares.narrow) / (1 - shares.narrow)) if clip.label == 0 else 0.5


def _g722(clip, shares: Shares, seed: int) -> bool:
    """Whether a synthetic clip passes through G.722 first, as the human side's G.722 sources did
    (the same share), so the codec's coarse 4-8 kHz band is no cue to the class. Drawn from its own
    random stream: the other clips' chains do not move when the share does."""
    if clip.label == 0 or not shares.g722:
        return False
    draw = int(hashlib.sha1(f"{clip.id}|{seed}|g722".encode()).hexdigest()[:8], 16) / 16 ** 8
    return draw < shares.g722


def _clip_key(clip, condition: str, shares: Shares, seed: int = 0) -> str:
    """The feature cache's key: the clip and condition, and under the training chain whatever of it
    depends on the corpus's make-up: a wideband human clip's telephone probability, a synthetic
    clip's G.722 pass (both move when human sources are added)."""
    if condition.startswith("clean"):
        if clip.label == 0 and not clip.source.startswith(NARROWBAND_SOURCES):
            return _key(clip.id, f"{condition}|telephone={_telephone_p(clip, shares):.3f}")
        if _g722(clip, shares, seed):
            return _key(clip.id, f"{condition}|g722")
    return _key(clip.id, condition)


def _conditioned(clip, audio: np.ndarray, condition: str, shares: Shares, seed: int) -> tuple[np.ndarray, str]:
    """The clip's audio under one condition: a deterministic function of the clip id and the seed."""
    from . import corpus as C

    rng = np.random.default_rng(int(hashlib.sha1(f"{clip.id}|{seed}".encode()).hexdigest()[:8], 16))
    audio = C.crop(audio, rng)
    if condition.startswith("clean"):
        # The training chain: the same augmentations for both classes, telephone band and G.722
        # balanced; "clean+channel" adds random microphone/room colours (corpus.random_channel).
        coded = _g722(clip, shares, seed)
        if coded:
            audio = C.transcode(audio, "g722", "64k")
        audio, chain = C.augment(audio, rng, _telephone_p(clip, shares), channel=condition == "clean+channel")
        return audio, ("g722+" + chain) if coded else chain
    if condition == "crop-3s":
        return C.crop(audio, rng, 3.0, 3.0), "crop-3s"
    codec, bitrate = condition.split("-")
    return C.transcode(audio, codec, bitrate), condition


def extract(clips, cache: Path, condition: str, *, seed: int = 0) -> dict[str, dict]:
    """Every front end's half-second statistics for each clip under one condition (cached per clip).

    The encoder's, the artifact front end's and the quality model's (its transformer states and its
    CNN's outputs) statistics are kept apart, so a front end added later is computed for the cached corpus without re-running the others (the
    conditioned audio is a deterministic function of the clip and the seed).
    """
    from . import artifacts as A
    from . import corpus as C
    from . import features as F
    from . import quality as Q

    encoder_store = cache / "features" / condition
    artifact_store = cache / f"features-{A.VERSION}" / condition
    quality_store = cache / f"features-{Q.VERSION}" / condition
    cnn_store = cache / f"features-{Q.CNN_VERSION}" / condition
    stores = (encoder_store, artifact_store, quality_store, cnn_store)
    for store in stores:
        store.mkdir(parents=True, exist_ok=True)
    shares = Shares.of(clips)
    out: dict[str, dict] = {}
    started = time.time()
    pending = [c for c in clips if not all((store / f"{_clip_key(c, condition, shares, seed)}.npz").exists()
                                           for store in stores)]
    for index, (clip, audio) in enumerate(C.iter_loaded(pending, cache / "audio"), 1):
        audio, chain = _conditioned(clip, audio, condition, shares, seed)
        name = f"{_clip_key(clip, condition, shares, seed)}.npz"
        if not (encoder_store / name).exists():
            stats = F.half_stats(audio, dynamics=True)
            np.savez(encoder_store / name, mean=stats.mean.astype(np.float16),
                     square=stats.square.astype(np.float16), delta=stats.delta.astype(np.float32),
                     speech=stats.speech, chain=chain)
        if not (artifact_store / name).exists():
            sums = A.half_sums(audio)
            np.savez(artifact_store / name, total=sums.total, square=sums.square, count=sums.count)
        missing = [store for store in (quality_store, cnn_store) if not (store / name).exists()]
        if missing:
            pooled = Q.analyse(audio, states=quality_store in missing, cnn=cnn_store in missing)
            for store, sums in zip((quality_store, cnn_store), pooled):
                if sums is not None:
                    np.savez(store / name, total=sums.total.astype(np.float32), square=sums.square.astype(np.float32),
                             count=sums.count)
        _progress(index, len(pending), started, f"features [{condition}]")
    for clip in clips:
        name = f"{_clip_key(clip, condition, shares, seed)}.npz"
        if all((store / name).exists() for store in stores):
            with np.load(encoder_store / name) as data, np.load(artifact_store / name) as extra, \
                    np.load(quality_store / name) as quality, np.load(cnn_store / name) as cnn:
                out[clip.id] = {"mean": data["mean"], "square": data["square"], "speech": data["speech"],
                                "delta": data["delta"] if "delta" in data.files else None,
                                "chain": str(data["chain"]), "artifacts": _sums(extra), "quality": _sums(quality),
                                "cnn": _sums(cnn)}
    return out


def _sums(stored):
    """A cached front end's half-second sums (stored as float32 or float64) as float64 HalfSums."""
    from .artifacts import HalfSums

    return HalfSums(stored["total"].astype(np.float64), stored["square"].astype(np.float64), stored["count"])


def windows(stats: dict, layers: tuple[int, ...], front_end: str = "whisper", dynamics: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """(features, speech share) per one-second window, of one front end or both joined."""
    from . import artifacts as A
    from .features import HalfStats, window_features

    half = HalfStats(stats["mean"].astype(np.float32), stats["square"].astype(np.float32), stats["speech"],
                     stats.get("delta"))
    feats, _, speech = window_features(half, layers, dynamics)
    feats = A.join(front_end, feats, stats["artifacts"], stats.get("quality"), stats.get("cnn"))
    rows = min(feats.shape[0], speech.shape[0])  # the front ends may count one more half second
    return feats[:rows], speech[:rows]


def speech_windows(clips, table, view: View, min_speech: float):
    """(index, clip, features of its speech windows) for each clip with features and enough speech."""
    for index, clip in enumerate(clips):
        if clip.id not in table:
            continue
        feats, speech = windows(table[clip.id], view.layers, view.features, view.dynamics)
        keep = speech >= min_speech
        if keep.any():
            yield index, clip, feats[keep]


def matrix(clips, table, view: View, min_speech: float):
    rows, labels, owners = [], [], []
    for index, clip, feats in speech_windows(clips, table, view, min_speech):
        rows.append(feats)
        labels.append(np.full(feats.shape[0], clip.label))
        owners.append(np.full(feats.shape[0], index))
    return np.concatenate(rows), np.concatenate(labels), np.concatenate(owners)


HUMAN_WEIGHTS = ("clip", "sqrt", "source")
OWN_ENGINE = ("kokoro", "voicegate")  # the families this platform's own engine makes


@dataclass(frozen=True)
class Weights:
    """How the classes' weight is shared: ``human`` among human sources (see sample_weights), and
    ``own_engine``: how many times each of this platform's own engine's families (Kokoro's stock
    voices, our pipeline's outputs) weighs against each other generator family."""

    human: str = "clip"
    own_engine: float = 1.0

    @classmethod
    def of(cls, args) -> "Weights":
        return cls(getattr(args, "human_weights", "clip"), getattr(args, "own_engine_weight", 1.0))


def sample_weights(clips, owners, weighting: Weights = Weights()) -> np.ndarray:
    """Each class weighs the same; within the synthetic class, each family weighs the same; each clip once.

    Within the human class, ``human`` says how its sources share the class's weight: "clip" (each
    clip the same, so a source weighs by its size), "source" (each source the same) or "sqrt" (a
    source by the square root of its size: small sources of rare recording chains, such as a few
    minutes of audiobooks, count for more than their size without one clip weighing too much).
    """
    per_clip = Counter(owners.tolist())
    families = Counter(clips[i].family for i in per_clip)
    classes = Counter(clips[i].label for i in per_clip)
    sources = Counter(clips[i].source for i in per_clip if clips[i].label == 0)
    power = {"clip": 0.0, "sqrt": 0.5, "source": 1.0}[weighting.human]
    present = {clips[i].family for i in per_clip if clips[i].label == 1}
    family_weight = {f: weighting.own_engine if f in OWN_ENGINE else 1.0 for f in present}
    family_norm = sum(family_weight.values())
    norm = sum(n ** (1 - power) for n in sources.values())
    weights = np.empty(owners.size, np.float64)
    for position, owner in enumerate(owners):
        clip = clips[owner]
        if clip.label == 0:
            w = 1.0 / (norm * sources[clip.source] ** power)
        else:
            w = family_weight[clip.family] / (family_norm * families[clip.family])
        weights[position] = w / per_clip[owner]
    return weights * weights.size / weights.sum()


def fit(clips, table, view: View, *, c: float, min_speech: float, weights: Weights = Weights()):
    if view.front_end == "fusion":
        return _fused(clips, table, view, c=c, min_speech=min_speech, weights=weights)
    from sklearn.linear_model import LogisticRegression

    x, y, owners = matrix(clips, table, view, min_speech)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, max_iter=300, tol=1e-3)
    model.fit((x - mean) / scale, y, sample_weight=sample_weights(clips, owners, weights))
    return {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32),
            "coef": model.coef_[0].astype(np.float32), "intercept": float(model.intercept_[0])}


def _fused(clips, table, view: View, *, c: float, min_speech: float, weights: Weights = Weights()) -> dict:
    """One classifier per front end, standardised by its human clips' logits, summed with equal weight."""
    parts = []
    for front_end in ("whisper", "artifacts"):
        part_view = View(view.layers, front_end, view.dynamics and front_end == "whisper")
        model = fit(clips, table, part_view, c=c, min_speech=min_speech, weights=weights)
        human = np.asarray(list(clip_scores(model, [x for x in clips if x.label == 0], table, part_view,
                                            min_speech).values()))
        parts.append((model, float(human.mean()), float(human.std()) + 1e-6))
    return {"mean": np.concatenate([m["mean"] for m, _, _ in parts]),
            "scale": np.concatenate([m["scale"] for m, _, _ in parts]),
            "coef": np.concatenate([m["coef"] / (2 * spread) for m, _, spread in parts]).astype(np.float32),
            "intercept": float(sum((m["intercept"] - centre) / (2 * spread) for m, centre, spread in parts))}


def clip_scores(model, clips, table, view: View, min_speech: float) -> dict[str, float]:
    """The clip's logit: mean of its speech windows' logits (as detect_synthetic computes it)."""
    scores = {}
    for _, clip, feats in speech_windows(clips, table, view, min_speech):
        logits = ((feats - model["mean"]) / model["scale"]) @ model["coef"] + model["intercept"]
        scores[clip.id] = float(np.mean(logits))
    return scores


def eer(human: list[float], synthetic: list[float]) -> tuple[float, float]:
    """Equal error rate and the threshold where it holds."""
    h, s = np.sort(np.asarray(human)), np.sort(np.asarray(synthetic))
    if not h.size or not s.size:
        return float("nan"), float("nan")
    candidates = np.unique(np.concatenate([h, s]))
    false_alarm = 1 - np.searchsorted(h, candidates, side="left") / h.size  # human >= t
    miss = np.searchsorted(s, candidates, side="left") / s.size  # synthetic < t
    best = int(np.argmin(np.abs(false_alarm - miss)))
    return float((false_alarm[best] + miss[best]) / 2), float(candidates[best])


def platt(human: list[float], synthetic: list[float]) -> tuple[float, float]:
    """Calibration p = sigmoid(a * logit + b), fitted on calibration clips with balanced classes."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([human, synthetic])[:, None]
    y = np.concatenate([np.zeros(len(human)), np.ones(len(synthetic))])
    weights = np.where(y == 0, 1 / len(human), 1 / len(synthetic))
    model = LogisticRegression(C=1e4).fit(x, y, sample_weight=weights * y.size / weights.sum())
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def split_train(clips, fraction: float = 0.2, seed: int = 0):
    """Fit and calibration parts of the train sources, split by recording group."""
    groups = sorted({c.group for c in clips if c.split == "train"})
    rng = np.random.default_rng(seed)
    calibration = set(rng.choice(groups, size=int(len(groups) * fraction), replace=False).tolist())
    fit_part = [c for c in clips if c.split == "train" and c.group not in calibration]
    calib_part = [c for c in clips if c.split == "train" and c.group in calibration]
    return fit_part, calib_part


def speaker_of(source: str) -> str:
    from .corpus import SAME_RECORDINGS

    recorded = SAME_RECORDINGS.get(source, source)
    return SAME_SPEAKER.get(recorded, recorded)


def out_of_source_scores(fit_part, calib_part, table, view: View, args, *, leave_out: tuple[str, ...] = (),
                         fit_table: dict | None = None) -> dict[str, float]:
    """Every train human clip scored by a model fitted without its source (and that source's speaker).

    Models are fitted on ``fit_table`` (default ``table``: the training chain, with random channels
    under ``--channel``) and score ``table``.

    Speakers are dealt into ``args.folds`` folds (each fold's speakers are left out together; 0:
    one fold per speaker).

    The synthetic side of each fold model is the fit part minus the families in ``leave_out``, so a
    leave-one-generator-out model gets a threshold that never saw the family either.
    """
    humans = [c for c in fit_part + calib_part if c.label == 0]
    synthetic = [c for c in fit_part if c.label == 1 and c.family not in leave_out]
    speakers = sorted({speaker_of(c.source) for c in humans})
    folds = getattr(args, "folds", 0) or len(speakers)
    fold_of = {speaker: index % folds for index, speaker in enumerate(speakers)}
    scores: dict[str, float] = {}
    for fold in range(min(folds, len(speakers))):
        train = synthetic + [c for c in fit_part if c.label == 0 and fold_of[speaker_of(c.source)] != fold]
        model = fit(train, table if fit_table is None else fit_table, view, c=args.c, min_speech=args.min_speech,
                    weights=Weights.of(args))
        scores.update(clip_scores(model, [c for c in humans if fold_of[speaker_of(c.source)] == fold], table, view,
                                  args.min_speech))
    return scores


def threshold_of(out_of_source: dict[str, float], quantile: float) -> float:
    return float(np.quantile(list(out_of_source.values()), quantile))


def rates(scores: dict[str, float], clips, threshold: float) -> dict[str, dict]:
    by: dict[str, list[float]] = defaultdict(list)
    for clip in clips:
        if clip.id in scores:
            by[clip.family if clip.label else f"human:{clip.source}"].append(scores[clip.id])
    out = {}
    for name, values in sorted(by.items()):
        values = np.asarray(values)
        flagged = float(np.mean(values >= threshold))
        out[name] = {"clips": int(values.size), ("flagged" if name.startswith("human") else "detected"): round(flagged, 4)}
    return out


def fit_without(fit_part, family: str, table, view: View, *, c: float, min_speech: float,
                weights: Weights = Weights()):
    """(model fitted on the fit part without family G and what is left out with it, that tuple)."""
    leave_out = LEAVE_OUT.get(family, (family,))
    return fit([x for x in fit_part if x.family not in leave_out], table, view, c=c, min_speech=min_speech,
               weights=weights), leave_out


def flagged(scores: dict[str, float], clips, threshold: float) -> float | None:
    values = np.asarray([scores[c.id] for c in clips if c.id in scores])
    return round(float(np.mean(values >= threshold)), 4) if values.size else None


def evaluate(clips, tables, view: View, args, threshold_quantile: float) -> dict:
    """Leave one generator family out: fit without G (nor its calibration clips), score G's clips.

    Each family's threshold is cross-fitted out of source without G too; its EER is against the
    calibration and held-out human clips, and the held-out human share it flags is reported.
    """
    fit_part, calib_part = split_train(clips, seed=args.seed)
    heldout = [c for c in clips if c.split == "heldout"]
    report: dict = {"layers": list(view.layers), "front_end": view.front_end, "dynamics": view.dynamics, "c": args.c,
                    "channel": bool(getattr(args, "channel", False))}
    logo = {}
    families = sorted({c.family for c in clips if c.label == 1})
    for number, family in enumerate(families, 1):
        model, leave_out = fit_without(fit_part, family, tables["train"], view, c=args.c, min_speech=args.min_speech,
                                       weights=Weights.of(args))
        threshold = threshold_of(out_of_source_scores(fit_part, calib_part, tables["clean"], view, args,
                                                      leave_out=leave_out, fit_table=tables["train"]),
                                 threshold_quantile)
        target = [c for c in clips if c.family == family]
        human_test = [c for c in calib_part if c.label == 0] + heldout
        row: dict = {}
        for condition in CONDITIONS:
            table = tables.get(condition)
            if table is None:
                continue
            s = clip_scores(model, target + human_test, table, view, args.min_speech)
            syn = [s[c.id] for c in target if c.id in s]
            hum = [s[c.id] for c in human_test if c.id in s]
            value, _ = eer(hum, syn)
            row[condition] = {"eer": round(value, 4), "miss_at_threshold": round(float(np.mean(np.asarray(syn) < threshold)), 4)
                              if syn else None, "synthetic_clips": len(syn), "human_clips": len(hum)}
            if condition == "clean":
                row[condition]["heldout_human_flagged"] = flagged(s, heldout, threshold)
        logo[family] = row
        logger.info("LOGO %s (%d/%d): %s", family, number, len(families), json.dumps(row))
    report["leave_one_generator_out"] = logo
    return report


def select(clips, table, args, front_ends: list[str], cs: list[float], fit_table: dict | None = None) -> list[dict]:
    """Model choice on the train sources only: the mean unseen-family EER, with the calibration clips
    of the train sources as the human side (the held-out sources stay unseen until the report).
    Models are fitted on ``fit_table`` (default ``table``) and score ``table``."""
    fit_part, calib_part = split_train(clips, seed=args.seed)
    calib_human = [c for c in calib_part if c.label == 0]
    rows = []
    for front_end in front_ends:
        for c in cs:
            view = View.parse(front_end, args.layers)
            eers = {}
            for family in sorted({x.family for x in clips if x.label == 1}):
                if family in SEEN_GENERATOR_ROWS:
                    continue
                model, _ = fit_without(fit_part, family, table if fit_table is None else fit_table, view, c=c,
                                       min_speech=args.min_speech, weights=Weights.of(args))
                target = [x for x in clips if x.family == family]
                s = clip_scores(model, target + calib_human, table, view, args.min_speech)
                eers[family] = round(eer([s[x.id] for x in calib_human if x.id in s],
                                         [s[x.id] for x in target if x.id in s])[0], 4)
            row = {"front_end": front_end, "c": c, "mean_eer": round(float(np.mean(list(eers.values()))), 4),
                   "eer": eers}
            logger.info("select %s", json.dumps(row))
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    from . import artifacts as A  # plain NumPy, no Django

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("VOICEGATE_MODEL_CACHE",
                                                                           Path.home() / ".cache" / "voicegate"))
                        / "detector-corpus")
    parser.add_argument("--quick", action="store_true", help="a small corpus, to check the pipeline")
    # Chosen by leave-one-generator-out runs (MODEL_CARD.md): the first three blocks held-out humans
    # flag least, and the encoder can stop after block 3 at run time.
    parser.add_argument("--layers", default="0,1,2")
    # The shipped model (MODEL_CARD.md): all four front ends joined, C 0.0003 (the lowest mean
    # unseen-family EER and miss of the front-end combinations, every held-out false-alarm figure at most 1%).
    parser.add_argument("--front-end", choices=(*A.FRONT_ENDS, "fusion"), default="full",
                        help="which front ends (artifacts.COMPONENTS): the encoder's statistics (whisper), the "
                             "artifact features (artifacts), the quality model's states (quality) and its CNN's "
                             "outputs (cnn); both = whisper + artifacts, signal = artifacts + quality, encoders = "
                             "whisper + quality, all = the first three, all-cnn = whisper + artifacts + cnn, full = "
                             "all four; or "
                             "fusion: one classifier per front end of both, their standardised logits added (View)")
    parser.add_argument("--dynamics", action="store_true",
                        help="add the encoder's frame-to-frame change per window (features.window_features)")
    parser.add_argument("--channel", action="store_true",
                        help="random microphone/room colours in the training chain of both classes (corpus.random_channel)")
    parser.add_argument("--c", type=float, default=0.001, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--human-weights", choices=HUMAN_WEIGHTS, default="clip",
                        help="how the human sources share the human class's weight (see sample_weights)")
    parser.add_argument("--own-engine-weight", type=float, default=1.0,
                        help="weight of each of this platform's own engine's families against each other family")
    parser.add_argument("--min-speech", type=float, default=0.5)
    parser.add_argument("--quantile", type=float, default=0.997,
                        help="quantile of the out-of-source human scores that sets the threshold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5, help="out-of-source folds of the train speakers (0: one each)")
    parser.add_argument("--skip-conditions", action="store_true", help="score clean clips only")
    parser.add_argument("--condition-clips", type=int, default=700, help="clips re-encoded for each condition")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--prepare-audio", action="store_true",
                        help="only generate the corpus audio, last clip first, and stop: run it beside a cold "
                             "training run (once that has fetched the packages) to fill the audio cache from both ends")
    parser.add_argument("--select", metavar="FRONT_ENDS:CS",
                        help="choose the model on the train sources only, e.g. 'whisper,both,both+dyn:0.0003,0.001': "
                             "writes select.json to --out and stops")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _setup_django()
    from . import corpus as C
    from . import MODEL_NAME

    sizes = (dict(human_per_source=12, kokoro_per_voice=1, voicegate_count=6, piper_count=8, espeak_count=12,
                  resynthesis_count=8, classic_count=8) if args.quick else
             dict(human_per_source=150, kokoro_per_voice=5, voicegate_count=60, piper_count=120, espeak_count=200,
                  resynthesis_count=150, classic_count=150))
    started = time.time()
    clips = C.build(args.cache, seed=args.seed, **sizes)
    logger.info("corpus: %s", dict(Counter(c.family for c in clips)))
    if args.prepare_audio:
        started_at = time.time()
        for index, _ in enumerate(C.iter_loaded(clips[::-1], args.cache / "audio"), 1):
            _progress(index, len(clips), started_at, "audio (last first)")
        return 0
    view = View(tuple(int(v) for v in args.layers.split(",")), args.front_end, args.dynamics)
    # Models are fitted on "train" and scored on "clean", the training chain's output; under
    # --channel "train" is the same clips with random microphone/room colours added to half of them.
    tables = {"clean": extract(clips, args.cache, "clean", seed=args.seed)}
    tables["train"] = extract(clips, args.cache, "clean+channel", seed=args.seed) if args.channel else tables["clean"]
    clips = [c for c in clips if c.id in tables["clean"] and c.id in tables["train"]]
    if args.select:
        front_ends, cs = args.select.split(":")
        rows = select(clips, tables["clean"], args, front_ends.split(","), [float(v) for v in cs.split(",")],
                      fit_table=tables["train"])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "select.json").write_text(json.dumps(rows, indent=1))
        print(json.dumps([{k: r[k] for k in ("front_end", "c", "mean_eer")} for r in rows], indent=1))
        return 0
    fit_part, calib_part = split_train(clips, seed=args.seed)
    heldout = [c for c in clips if c.split == "heldout"]
    if not args.skip_conditions:
        # Re-encoded and cropped copies of a fixed random subset: every held-out human source, the
        # calibration clips and a share of every generator family.
        rng = np.random.default_rng(args.seed)
        pool = calib_part + heldout + [c for c in fit_part if c.label == 1]
        scored = [pool[i] for i in sorted(rng.choice(len(pool), size=min(len(pool), args.condition_clips), replace=False))]
        for condition in CONDITIONS[1:]:
            tables[condition] = extract(scored, args.cache, condition, seed=args.seed)
    report = evaluate(clips, tables, view, args, args.quantile)

    # The shipped model: fitted on every family's fit part, calibrated on the calibration part.
    model = fit(fit_part, tables["train"], view, c=args.c, min_speech=args.min_speech, weights=Weights.of(args))
    scores = clip_scores(model, clips, tables["clean"], view, args.min_speech)
    cal_h = [scores[c.id] for c in calib_part if c.label == 0 and c.id in scores]
    cal_s = [scores[c.id] for c in calib_part if c.label == 1 and c.id in scores]
    a, b = platt(cal_h, cal_s)
    out_of_source = out_of_source_scores(fit_part, calib_part, tables["clean"], view, args, fit_table=tables["train"])
    threshold_logit = threshold_of(out_of_source, args.quantile)
    def probability(logit: float) -> float:
        return float(1 / (1 + np.exp(-(a * logit + b))))

    threshold = probability(threshold_logit)
    seen_eer, _ = eer(cal_h, cal_s)
    report["calibration"] = {"eer": round(seen_eer, 4), "human_clips": len(cal_h), "synthetic_clips": len(cal_s),
                             "platt": [a, b], "threshold_probability": round(threshold, 4),
                             "threshold_quantile": args.quantile,
                             "by_source": rates(scores, calib_part, threshold_logit),
                             "out_of_source_by_source": rates(out_of_source, [c for c in clips if c.split == "train"],
                                                              threshold_logit),
                             "in_source_quantile_would_be": round(probability(float(np.quantile(cal_h, args.quantile))), 4)}
    report["heldout_human"] = rates(scores, heldout, threshold_logit)
    report["heldout_human_flagged"] = flagged(scores, heldout, threshold_logit)
    for condition in CONDITIONS[1:]:
        if condition in tables:
            cond_scores = clip_scores(model, clips, tables[condition], view, args.min_speech)
            hum = [cond_scores[c.id] for c in calib_part + heldout if c.label == 0 and c.id in cond_scores]
            syn = [cond_scores[c.id] for c in calib_part if c.label == 1 and c.id in cond_scores]
            report.setdefault("conditions", {})[condition] = {
                "eer_calibration_generators": round(eer(hum, syn)[0], 4),
                "human_flagged": round(float(np.mean(np.asarray(hum) >= threshold_logit)), 4) if hum else None,
                "miss": round(float(np.mean(np.asarray(syn) < threshold_logit)), 4) if syn else None}
    report["corpus"] = corpus_summary(clips, tables["clean"])
    report["trained_in_s"] = round(time.time() - started, 1)
    report["date"] = time.strftime("%Y-%m-%d")
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "detector.npz", mean=model["mean"], scale=model["scale"], coef=model["coef"],
                        intercept=np.float32(model["intercept"]), platt=np.asarray([a, b], np.float32),
                        threshold=np.float32(threshold), layers=np.asarray(view.layers, np.int32),
                        front_end=view.features, dynamics=np.bool_(view.dynamics),
                        min_speech=np.float32(args.min_speech), name=MODEL_NAME,
                        miss_rate=np.float32(_mean_logo_miss(report)), false_alarm_rate=np.float32(report["heldout_human_flagged"]))
    (args.out / "evaluation.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    print(json.dumps({k: report[k] for k in ("calibration", "heldout_human_flagged", "leave_one_generator_out")},
                     indent=1))
    return 0


def _mean_logo_miss(report: dict) -> float:
    misses = [row["clean"]["miss_at_threshold"] for family, row in report["leave_one_generator_out"].items()
              if family not in SEEN_GENERATOR_ROWS and row.get("clean", {}).get("miss_at_threshold") is not None]
    return float(np.mean(misses)) if misses else float("nan")


def corpus_summary(clips, table) -> dict:
    summary: dict[str, dict] = {}
    for clip in clips:
        if clip.id not in table:
            continue
        key = f"human:{clip.source}" if clip.label == 0 else clip.family
        entry = summary.setdefault(key, {"clips": 0, "minutes": 0.0, "languages": set(), "voices": set(), "split": clip.split})
        entry["clips"] += 1
        entry["minutes"] += table[clip.id]["mean"].shape[0] * 0.5 / 60
        entry["languages"].add(clip.language)
        entry["voices"].add(clip.group.split(":")[1] if clip.label == 0 else clip.source)
    return {k: {"clips": v["clips"], "minutes": round(v["minutes"], 1), "languages": sorted(v["languages"]),
                "groups_or_voices": len(v["voices"]), "split": v["split"]} for k, v in sorted(summary.items())}


if __name__ == "__main__":
    sys.exit(main())
