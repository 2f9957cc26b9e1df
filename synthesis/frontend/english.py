"""English G2P without spaCy: misaki's US/GB lexicons, then espeak-ng for unknown words.

misaki.en.G2P needs the spaCy model en_core_web_sm, which downloads at run time, so it cannot
be used offline. Its lexicons (gold, then silver) cover about 90k words with Kokoro's own
phoneme alphabet; homographs fall back to the lexicon's DEFAULT reading (no POS tagger).
"""
from __future__ import annotations

import importlib.resources
import json
import re
import threading
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[.,!?;:—…\"()“”-]")
_espeak_lock = threading.Lock()
_VOWELS = set("aeiouæɑɒɔəɛɜɪʊʌAIOWYQᵻ")


@lru_cache(maxsize=2)
def lexicon(british: bool) -> dict:
    from misaki import data

    merged: dict = {}
    for tier in ("silver", "gold"):  # gold last: it wins
        name = f"{'gb' if british else 'us'}_{tier}.json"
        merged.update(json.loads((importlib.resources.files(data) / name).read_text(encoding="utf-8")))
    return merged


@lru_cache(maxsize=2)
def _espeak(british: bool):
    from misaki.espeak import EspeakFallback

    return EspeakFallback(british=british)


def _entry(word: str, british: bool) -> str | None:
    lex = lexicon(british)
    for candidate in (word, word.lower(), word.capitalize()):
        value = lex.get(candidate)
        if isinstance(value, dict):
            value = value.get("DEFAULT")
        if isinstance(value, str):
            return value
    return None


def _stemmed(word: str, british: bool) -> str | None:
    """Regular -s / -ed / -ing forms of a lexicon word (misaki's rules, simplified)."""
    lower = word.lower()
    for suffix, strip in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if lower.endswith(suffix) and len(lower) > len(suffix) + 2:
            stem = _entry(lower[: -len(suffix)] + strip, british)
            if stem is None:
                continue
            if suffix in ("s", "es", "ies"):
                return stem + ("ᵻz" if stem[-1] in "szʃʒʧʤ" else "s" if stem[-1] in "ptkfθ" else "z")
            if suffix == "ed":
                return stem + ("ᵻd" if stem[-1] in "td" else "t" if stem[-1] in "pkfθʃʧs" else "d")
            return stem + "ɪŋ"
    return None


def _spelled(word: str, british: bool) -> str | None:
    """Acronyms (NASA is in the lexicon; 'GPU' is not): say the letters."""
    letters = [_entry(c.upper(), british) for c in word]
    return " ".join(letters) if all(letters) else None


def word_phonemes(word: str, british: bool = False) -> str:
    word = word.replace("’", "'")
    found = _entry(word, british) or _stemmed(word, british)
    if found is None and word.isupper() and len(word) <= 5:
        found = _spelled(word, british)
    if found is None:
        with _espeak_lock:  # the espeak-ng library keeps global state
            found, _ = _espeak(british)(_Token(word))
    return found or ""


class _Token:  # the attribute misaki's EspeakFallback reads
    def __init__(self, text: str):
        self.text = text


def english_phonemes(text: str, british: bool = False) -> str:
    """Plain English text (already normalised) -> Kokoro phonemes, words separated by spaces."""
    out: list[str] = []
    tokens = _WORD.findall(text)
    for index, token in enumerate(tokens):
        if not token[0].isalpha():
            if out:
                out[-1] += token
            continue
        phonemes = _function_word(token, tokens[index + 1] if index + 1 < len(tokens) else "", british)
        out.append(phonemes if phonemes is not None else word_phonemes(token, british))
    return " ".join(p for p in out if p)


def _function_word(word: str, following: str, british: bool) -> str | None:
    """Reduced forms the lexicon leaves to context ("the apple" vs "the car")."""
    lower = word.lower()
    next_starts_with_vowel = bool(following) and following[0].lower() in "aeiou"
    if lower == "the":
        return "ði" if next_starts_with_vowel else "ðə"
    if lower == "a" and word != "A":
        return "ɐ"
    if lower == "to":
        return "tʊ" if next_starts_with_vowel else "tə"
    if lower == "an":
        return "ɐn"
    return None
