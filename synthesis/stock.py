"""Stock voices: the synthesis engine's own built-in voices, for narration that clones no one.

A stock voice is one of Kokoro's packaged style packs (``jf_alpha``, ``jm_kumo``, ... and, once
the engine ships all of Kokoro v1.0's voices, ``af_heart``, ``bm_george``, ``zf_xiaobei`` ...).
It was made by the model's authors, not from a recording of a person of any organisation here,
so synthesizing with it needs no consent record (see synthesis.services.request_synthesis).

This module is what the product offers of them (API, studio, command, jobs go through here):
``stock_voices()`` lists whatever ``synthesis.engines.kokoro.stock_packs()`` holds, with the
language and gender ``synthesis.voices.describe`` reads from Kokoro's naming scheme (``af_heart``:
American English, female); a name outside the scheme is still listed, with language and gender
None. ``stock_voice_profile(name)`` is the engine's ``stock_profile(name)``. No Django here.
"""
from __future__ import annotations

from dataclasses import dataclass

from voicegate.errors import DomainError

from synthesis import voices

ENGINE = "kokoro"  # the engine whose voices these are; only it can speak in them
LABEL = "stock voice"


class UnknownStockVoice(DomainError):
    code = "unknown_stock_voice"


@dataclass(frozen=True)
class StockVoice:
    name: str
    language: str | None  # the language the voice was made for (it may speak any the engine supports)
    gender: str | None
    label: str = LABEL

    @property
    def description(self) -> str:
        """How labels, manifests and reports name it: ``stock voice af_heart``."""
        return f"{LABEL} {self.name}"

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "language": self.language, "gender": self.gender, "label": self.label}


def describe(name: str) -> StockVoice:
    """A stock voice's language and gender read from its name (``af_heart`` -> en, female)."""
    try:
        info = voices.describe(name)
    except ValueError:  # not in Kokoro's naming scheme: listed all the same
        return StockVoice(name, None, None)
    return StockVoice(name, info.language, info.gender)


def stock_voices() -> list[StockVoice]:
    """Every stock voice the engine has, by name (so grouped by language: af_, am_, bf_, ...)."""
    from synthesis.engines.kokoro import stock_packs

    return [describe(name) for name in sorted(stock_packs())]


def stock_voice(name: str) -> StockVoice:
    """The stock voice called ``name``; UnknownStockVoice (400) naming the choices otherwise."""
    voices = stock_voices()
    for voice in voices:
        if voice.name == name:
            return voice
    raise UnknownStockVoice(f"unknown stock voice {str(name)[:64]!r}; choose one of: "
                            f"{', '.join(v.name for v in voices)}",
                            details={"choices": [v.name for v in voices]})


def stock_voice_profile(name: str):
    """What the engine needs to speak in the stock voice (a synthesis.profile.VoiceProfile)."""
    from synthesis.engines.kokoro import stock_profile

    stock_voice(name)  # the same 400 as everywhere else for a name the engine lacks
    return stock_profile(name)
