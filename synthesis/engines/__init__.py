"""Engine registry: which engines are enabled, and which one speaks a language.

Enabled engines come from settings (``SYNTHESIS_ENGINES``, read from the environment variable
``VOICEGATE_SYNTHESIS_ENGINES`` by default: a comma-separated list in priority order). The
first enabled engine that lists a language speaks it, so an operator who adds a CosyVoice
model directory can put ``cosyvoice`` first and keep Kokoro and espeak-ng as fallbacks.
Adding an engine = one module with an ``Engine`` subclass + one line in ``ENGINE_CLASSES``.
"""
from __future__ import annotations

import importlib
import os
import threading

from synthesis.engines.base import (AudioChunk, Engine, InvalidSynthesisOption, LanguageInfo,
                                    SynthesisOptions, TextUnit, UnsupportedLanguage)

__all__ = ["AudioChunk", "Engine", "InvalidSynthesisOption", "LanguageInfo", "SynthesisOptions",
           "TextUnit", "UnsupportedLanguage", "ENGINE_CLASSES", "DEFAULT_ENGINES", "configure_engines",
           "enabled_engine_names", "get_engine", "available_languages", "engine_for_language",
           "language_info"]

# name -> "module:Class"; imported lazily so a missing optional model costs nothing until used.
ENGINE_CLASSES: dict[str, str] = {
    "kokoro": "synthesis.engines.kokoro:KokoroEngine",
    "espeak": "synthesis.engines.espeak:EspeakEngine",
    "cosyvoice": "synthesis.engines.cosyvoice:CosyVoiceEngine",
}
DEFAULT_ENGINES = ("kokoro", "espeak")

_lock = threading.Lock()
_instances: dict[str, Engine] = {}
_configured: tuple[str, ...] | None = None


def configure_engines(names: list[str] | tuple[str, ...] | None) -> None:
    """Set the enabled engines (priority order); None goes back to the environment/default."""
    global _configured
    if names is not None:
        unknown = [n for n in names if n not in ENGINE_CLASSES]
        if unknown:
            raise ValueError(f"unknown synthesis engine(s) {unknown}; known: {sorted(ENGINE_CLASSES)}")
    _configured = tuple(names) if names is not None else None


def enabled_engine_names() -> tuple[str, ...]:
    if _configured is not None:
        return _configured
    raw = os.environ.get("VOICEGATE_SYNTHESIS_ENGINES", "")
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    return names or DEFAULT_ENGINES


def get_engine(name: str) -> Engine:
    """The (cached) engine instance; models load lazily on its first synthesis."""
    if name not in ENGINE_CLASSES:
        raise UnsupportedLanguage(f"unknown synthesis engine {name!r}; known: {', '.join(sorted(ENGINE_CLASSES))}")
    with _lock:
        if name not in _instances:
            module_name, class_name = ENGINE_CLASSES[name].split(":")
            engine_class = getattr(importlib.import_module(module_name), class_name)
            _instances[name] = engine_class()
        return _instances[name]


def available_languages() -> list[LanguageInfo]:
    """Each language once, from the highest-priority enabled engine that speaks it."""
    seen: dict[str, LanguageInfo] = {}
    for name in enabled_engine_names():
        for info in get_engine(name).languages():
            seen.setdefault(info.code, info)
    return list(seen.values())


def language_info(code: str) -> LanguageInfo:
    for info in available_languages():
        if info.code == code:
            return info
    supported = ", ".join(f"{i.code} ({i.name}, {i.tier})" for i in available_languages())
    raise UnsupportedLanguage(f"language {code!r} is not supported; supported languages: {supported}",
                              details={"supported": [i.code for i in available_languages()]})


def engine_for_language(code: str) -> Engine:
    return get_engine(language_info(code).engine)
