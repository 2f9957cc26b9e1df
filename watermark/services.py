"""The provenance service the synthesis pipeline and verification call (Django-facing, thin).

Settings (read with defaults until the lead adds them to settings.py):
- WATERMARK_ENGINE: "dsp" (default) or "audioseal"
- WATERMARK_AUDIOSEAL_GENERATOR / WATERMARK_AUDIOSEAL_DETECTOR: checkpoint paths for "audioseal"
- PROVENANCE_CERT_CHAIN / PROVENANCE_PRIVATE_KEY: PEM files for C2PA signing (unset: labels only)
- PROVENANCE_TRUST_ANCHORS: PEM file of roots whose manifests count as trusted (optional)
- PROVENANCE_PROVIDER: provider name written into labels (default "voicegate")
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from voicegate.errors import DomainError
from watermark.dsp import Detection, StreamingEmbedder
from watermark.engines import EngineUnavailable, WatermarkEngine, get_engine
from watermark.labels import AiLabel, LabelError, write_labels
from watermark.manifest import (MANIFEST_FORMATS, ManifestError, ManifestInfo, ManifestReport, SignerConfig,
                                generate_dev_ca, read_manifest, sign_audio)

logger = logging.getLogger(__name__)

__all__ = ["provenance_engine", "mark_audio", "streaming_marker", "detect_in", "label_and_sign", "ProvenanceInfo",
           "LabelledAudio", "signer_config", "manifest_report", "consent_hash", "ProvenanceError"]


class ProvenanceError(DomainError):
    code = "provenance"


def provenance_engine() -> WatermarkEngine:
    try:
        return get_engine(getattr(settings, "WATERMARK_ENGINE", "dsp") or "dsp",
                          audioseal_generator=getattr(settings, "WATERMARK_AUDIOSEAL_GENERATOR", None),
                          audioseal_detector=getattr(settings, "WATERMARK_AUDIOSEAL_DETECTOR", None))
    except EngineUnavailable as exc:
        raise ProvenanceError(f"the watermark engine is not usable: {exc}") from exc


def mark_audio(samples: np.ndarray, sample_rate: int, payload: bytes) -> np.ndarray:
    """Watermark a whole output with the configured engine."""
    engine = provenance_engine()
    return engine.embed(samples, sample_rate, payload[:engine.payload_bytes])


def streaming_marker(sample_rate: int, payload: bytes) -> StreamingEmbedder:
    """A chunk-by-chunk marker for streamed synthesis (the DSP engine's; it adds 0.32-0.64 s latency)."""
    engine = provenance_engine()
    if not hasattr(engine, "streaming"):
        raise ProvenanceError(f"the {engine.name} watermark engine cannot mark a stream chunk by chunk")
    return engine.streaming(sample_rate, payload)


def detect_in(samples: np.ndarray, sample_rate: int) -> Detection:
    return provenance_engine().detect(samples, sample_rate)


def consent_hash(record: dict[str, Any] | str | bytes) -> str:
    """SHA-256 (hex) of a consent record's canonical JSON: what manifests carry instead of the record."""
    if isinstance(record, dict):
        record = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    if isinstance(record, str):
        record = record.encode("utf-8")
    return hashlib.sha256(record).hexdigest()


@dataclass(frozen=True)
class ProvenanceInfo:
    generation_id: str
    consent_sha256: str | None  # None (or ""): made in a voice that needed no consent, e.g. a stock voice
    watermark_payload: str | None = None  # hex
    provider: str | None = None  # default: PROVENANCE_PROVIDER
    voice: str | None = None  # what labels and manifest may say about the voice ("stock voice af_heart")
    extra: dict[str, Any] = field(default_factory=dict)  # more non-personal fields for the manifest's assertion


@dataclass(frozen=True)
class LabelledAudio:
    data: bytes
    labels: dict[str, Any]  # what was written (GB 45438 AIGC object and plain fields)
    manifest: dict[str, Any] | None  # None when no signing certificate is configured or the format has no C2PA


def signer_config() -> SignerConfig | None:
    chain = getattr(settings, "PROVENANCE_CERT_CHAIN", None)
    key = getattr(settings, "PROVENANCE_PRIVATE_KEY", None)
    if not chain or not key:
        return None
    dev_dir = getattr(settings, "PROVENANCE_DEV_CA_DIR", None)
    if dev_dir and not (Path(chain).is_file() and Path(key).is_file()):
        _create_dev_ca(Path(dev_dir))
    for path in (chain, key):
        if not Path(path).is_file():
            raise ProvenanceError(f"the provenance signing file {path} does not exist; run "
                                  "`manage.py provenance_dev_ca DIR` for a development certificate")
    return SignerConfig(Path(chain), Path(key))


_dev_ca_lock = threading.Lock()


def _create_dev_ca(directory: Path) -> None:
    """The embedded default: a development CA, made once per installation (see README, trust anchors)."""
    with _dev_ca_lock:
        if (directory / "chain.pem").is_file() and (directory / "leaf.key").is_file():
            return
        logger.warning("no PROVENANCE_CERT_CHAIN configured: creating a development signing CA in %s", directory)
        generate_dev_ca(directory)


def ai_label(info: ProvenanceInfo) -> AiLabel:
    """The implicit AI label of a generation's audio (stored files and streams alike)."""
    return AiLabel(provider=info.provider or getattr(settings, "PROVENANCE_PROVIDER", "voicegate"),
                   generation_id=info.generation_id,
                   reserved_code1=f"watermark:{info.watermark_payload}" if info.watermark_payload else "",
                   voice=info.voice or "")


def label_and_sign(data: bytes, fmt: str, info: ProvenanceInfo) -> LabelledAudio:
    """Add implicit AI labels, then (when a certificate is configured and the format allows) sign."""
    label = ai_label(info)
    try:
        labelled = write_labels(data, fmt, label)
    except LabelError as exc:
        raise ProvenanceError(f"could not label the {fmt} file: {exc}") from exc
    signer = signer_config()
    if signer is None or fmt.lower() not in MANIFEST_FORMATS:
        return LabelledAudio(labelled, label.fields(), None)
    extra = {**({"voice": info.voice} if info.voice else {}), **info.extra}
    manifest = ManifestInfo(generation_id=info.generation_id, consent_sha256=info.consent_sha256 or None,
                            provider=label.provider, watermark_payload=info.watermark_payload, extra=extra)
    try:
        signed = sign_audio(labelled, fmt, manifest, signer)
    except ManifestError as exc:
        raise ProvenanceError(str(exc)) from exc
    summary = {"claim_generator": "voicegate/1.0", "generation_id": info.generation_id}
    if info.consent_sha256:
        summary["consent_record_sha256"] = info.consent_sha256
    return LabelledAudio(signed, label.fields(), {**summary, **extra})


def manifest_report(data: bytes, fmt: str) -> ManifestReport:
    """Read a clip's manifest, trusting the roots in PROVENANCE_TRUST_ANCHORS (for verification)."""
    anchors_path = getattr(settings, "PROVENANCE_TRUST_ANCHORS", None)
    anchors = Path(anchors_path).read_text() if anchors_path and Path(anchors_path).is_file() else None
    return read_manifest(data, fmt, trust_anchors_pem=anchors)
