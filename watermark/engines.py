"""Pluggable watermark engines, selected by name (no Django; the service layer reads settings).

- ``dsp`` (default): :mod:`watermark.dsp`, 32-bit payload + CRC, no model files.
- ``audioseal``: Meta's AudioSeal with generator/detector checkpoint files an operator supplies
  (the public weights are fetched from a model hub, which is not reachable here). AudioSeal
  carries 16 bits: the engine embeds the first 16 bits of the payload and reports 2-byte payloads.

Every engine offers ``embed(audio, sample_rate, payload) -> audio`` and
``detect(audio, sample_rate) -> Detection``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from scipy.signal import resample_poly

from watermark import dsp
from watermark.dsp import Detection

__all__ = ["WatermarkEngine", "DspEngine", "AudioSealEngine", "EngineUnavailable", "get_engine", "ENGINES"]


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (package missing, checkpoint files absent or invalid)."""


class WatermarkEngine(Protocol):
    name: str
    payload_bytes: int

    def embed(self, audio: np.ndarray, sample_rate: int, payload: bytes) -> np.ndarray: ...

    def detect(self, audio: np.ndarray, sample_rate: int) -> Detection: ...


@dataclass(frozen=True)
class DspEngine:
    name: str = "dsp"
    payload_bytes: int = dsp.PAYLOAD_BYTES

    def embed(self, audio: np.ndarray, sample_rate: int, payload: bytes) -> np.ndarray:
        return dsp.embed(audio, sample_rate, payload)

    def detect(self, audio: np.ndarray, sample_rate: int) -> Detection:
        return dsp.detect(audio, sample_rate)

    def streaming(self, sample_rate: int, payload: bytes) -> dsp.StreamingEmbedder:
        return dsp.StreamingEmbedder(sample_rate, payload)


AUDIOSEAL_RATE = 16000


@functools.lru_cache(maxsize=4)
def _load_audioseal(generator_path: str, detector_path: str):
    try:
        from audioseal import AudioSeal
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise EngineUnavailable("the audioseal package is not installed (pip install audioseal)") from exc
    for path in (generator_path, detector_path):
        if not Path(path).is_file():
            raise EngineUnavailable(f"AudioSeal checkpoint not found: {path}")
    try:
        generator = AudioSeal.load_generator(generator_path)
        detector = AudioSeal.load_detector(detector_path)
    except Exception as exc:  # torch/omegaconf raise many kinds on a bad file
        raise EngineUnavailable(f"could not load the AudioSeal checkpoints: {exc}") from exc
    generator.eval()
    detector.eval()
    return generator, detector


def _resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    if sr_from == sr_to:
        return np.asarray(samples, dtype=np.float64)
    ratio = Fraction(sr_to, sr_from)
    return resample_poly(np.asarray(samples, dtype=np.float64), ratio.numerator, ratio.denominator)


@dataclass(frozen=True)
class AudioSealEngine:
    """AudioSeal (San Roman et al., ICML 2024) over operator-supplied checkpoints.

    Checkpoint format (what ``AudioSeal.load_generator/load_detector`` accept): a ``torch.save``d
    dict with ``"xp.cfg"`` (the model config: nbits, seanet, decoder/detector) and ``"model"`` (the
    state dict), or a model-card YAML whose ``checkpoint`` is a local path.
    """

    generator_path: str
    detector_path: str
    detection_threshold: float = 0.5  # AudioSeal's own frame-level threshold and clip decision
    name: str = "audioseal"
    payload_bytes: int = 2

    def _models(self):
        return _load_audioseal(str(self.generator_path), str(self.detector_path))

    def embed(self, audio: np.ndarray, sample_rate: int, payload: bytes) -> np.ndarray:
        import torch

        generator, _ = self._models()
        nbits = int(generator.msg_processor.nbits) if generator.msg_processor is not None else 0
        bits = [(int.from_bytes(payload, "big") >> (8 * len(payload) - 1 - i)) & 1 for i in range(8 * len(payload))]
        message = torch.tensor([bits[:nbits]], dtype=torch.int32) if nbits else None
        # AudioSeal works at 16 kHz: compute the mark there and add it back at the input rate.
        x16 = _resample(audio, sample_rate, AUDIOSEAL_RATE)
        with torch.no_grad():
            mark = generator.get_watermark(torch.tensor(x16, dtype=torch.float32)[None, None], AUDIOSEAL_RATE,
                                           message=message)
        mark_np = _resample(mark.squeeze().numpy(), AUDIOSEAL_RATE, sample_rate)[: len(audio)]
        marked = np.asarray(audio, dtype=np.float64)
        marked[: mark_np.size] += mark_np
        return np.clip(marked, -1.0, 1.0).astype(np.float32)

    def detect(self, audio: np.ndarray, sample_rate: int) -> Detection:
        import torch

        _, detector = self._models()
        x16 = _resample(audio, sample_rate, AUDIOSEAL_RATE)
        with torch.no_grad():
            probability, message = detector.detect_watermark(torch.tensor(x16, dtype=torch.float32)[None, None],
                                                             AUDIOSEAL_RATE,
                                                             detection_threshold=self.detection_threshold)
        score = float(probability.reshape(-1)[0])
        detected = score >= self.detection_threshold
        bits = [int(b) for b in message.reshape(-1).tolist()]
        value = int("".join(map(str, bits)) or "0", 2)
        payload = value.to_bytes(max(1, (len(bits) + 7) // 8), "big") if detected else None
        duration = len(audio) / sample_rate
        return Detection(detected, score, payload, [(0.0, round(duration, 3))] if detected else [], z_score=score)


ENGINES: dict[str, Callable[..., WatermarkEngine]] = {
    "dsp": lambda **_: DspEngine(),
    "audioseal": lambda *, audioseal_generator=None, audioseal_detector=None, **_: _audioseal(audioseal_generator,
                                                                                              audioseal_detector),
}


def _audioseal(generator: str | None, detector: str | None) -> AudioSealEngine:
    if not generator or not detector:
        raise EngineUnavailable("the audioseal engine needs WATERMARK_AUDIOSEAL_GENERATOR and "
                                "WATERMARK_AUDIOSEAL_DETECTOR to point at checkpoint files")
    return AudioSealEngine(str(generator), str(detector))


def get_engine(name: str = "dsp", **options: str | None) -> WatermarkEngine:
    """The engine registered under ``name``; options: audioseal_generator, audioseal_detector."""
    if name not in ENGINES:
        raise EngineUnavailable(f"unknown watermark engine {name!r}; choose one of: {', '.join(ENGINES)}")
    return ENGINES[name](**options)
