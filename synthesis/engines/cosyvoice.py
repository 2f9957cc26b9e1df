"""CosyVoice engine skeleton: loads an operator-provided local model directory, or refuses.

No CosyVoice weights ship with the platform (none install offline). An operator who has a
CosyVoice2/3 model directory and the ``cosyvoice`` package sets ``VOICEGATE_COSYVOICE_MODEL_DIR``
and puts ``cosyvoice`` first in ``VOICEGATE_SYNTHESIS_ENGINES``. Until both exist this engine
lists no languages and raises a clear error when asked to speak: it never pretends to work.
See docs/synthesis.md ("Adding an engine") for what the finished module must do.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from voicegate.errors import DomainError

from synthesis.engines.base import AudioChunk, Engine, LanguageInfo, SynthesisOptions, TextUnit
from synthesis.profile import VoiceProfile

MODEL_DIR_SETTING = "VOICEGATE_COSYVOICE_MODEL_DIR"


class EngineNotConfigured(DomainError):
    status_code = 503
    code = "engine_not_configured"


def model_dir() -> Path:
    raw = os.environ.get(MODEL_DIR_SETTING, "").strip()
    if not raw:
        raise EngineNotConfigured(
            f"the CosyVoice engine needs a local model directory: set {MODEL_DIR_SETTING} to a "
            "CosyVoice model folder (none ships with this platform)")
    path = Path(raw)
    if not (path / "cosyvoice.yaml").exists() and not (path / "cosyvoice2.yaml").exists():
        raise EngineNotConfigured(f"{path} is not a CosyVoice model directory (no cosyvoice*.yaml inside)")
    return path


@lru_cache(maxsize=1)
def _load_model():  # pragma: no cover - needs operator-provided weights
    directory = model_dir()
    try:
        from cosyvoice.cli.cosyvoice import AutoModel  # type: ignore[import-not-found]
    except ImportError as exc:
        raise EngineNotConfigured("the CosyVoice engine needs the 'cosyvoice' package installed") from exc
    return AutoModel(model_dir=str(directory))


class CosyVoiceEngine(Engine):
    name = "cosyvoice"
    sample_rate = 24000

    def languages(self) -> list[LanguageInfo]:
        try:
            model_dir()
        except EngineNotConfigured:
            return []  # not configured: the registry falls through to the next engine
        return [LanguageInfo(code, name, self.name, "standard") for code, name in (
            ("zh", "Mandarin Chinese"), ("en", "English"), ("ja", "Japanese"), ("yue", "Cantonese"),
            ("ko", "Korean"))]

    def synthesize(self, units: list[TextUnit], profile: VoiceProfile | None,
                   options: SynthesisOptions | None = None) -> Iterator[AudioChunk]:
        _load_model()
        # A finished engine runs zero-shot inference per unit with the profile's reference
        # audio/prompt (stored in profile.metadata) and yields finish_chunk(...) for each.
        raise EngineNotConfigured("the CosyVoice engine module is a skeleton: its inference call "
                                  "must be written against the operator's CosyVoice version")
