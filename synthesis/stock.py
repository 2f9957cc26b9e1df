"""Stock voices: the synthesis engine's own built-in voices, for narration that clones no one.

A stock voice is one of Kokoro's packaged style packs (``jf_alpha``, ``jm_kumo``, ... and, once
the engine ships all of Kokoro v1.0's voices, ``af_heart``, ``bm_george``, ``zf_xiaobei`` ...).
It was made by the model's authors, not from a recording of a person of any organisation here,
so synthesizing with it needs no consent record (see synthesis.services.request_synthesis).

This module is the one place that reaches into the engine for them: ``stock_voices()`` lists
whatever ``synthesis.engines.kokoro.stock_packs()`` holds, and ``stock_voice_profile(name)`` is
its ``stock_profile(name)``. Everything else (API, studio, command, jobs) goes through here, so
when the engine's list grows nothing else changes. No Django here.

Language and gender come from the Kokoro naming scheme: the first letter of a name is its
language (a = American English, b = British English, z = Mandarin, j = Japanese, e = Spanish,
f = French, h = Hindi, i = Italian, p = Brazilian Portuguese), the second its gender
(f = female, m = male). A name outside the scheme is still listed, with language and gender None.
"""
from __future__ import annotations

from dataclasses import dataclass

from voicegate.errors import DomainError

ENGINE = "kokoro"  # the engine whose voices these are; only it can speak in them
LABEL = "stock voice"
LANGUAGE_BY_PREFIX = {"a": "en", "b": "en-gb", "z": "zh", "j": "ja", "e": "es", "f": "fr", "h": "hi", "i": "it",
                      "p": "pt"}
GENDER_BY_LETTER = {"f": "female", "m": "male"}


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
    prefix, _, rest = name.partition("_")
    if len(prefix) != 2 or not rest:
        return StockVoice(name, None, None)
    return StockVoice(name, LANGUAGE_BY_PREFIX.get(prefix[0]), GENDER_BY_LETTER.get(prefix[1]))


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
