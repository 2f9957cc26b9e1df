"""English G2P without spaCy: misaki's US/GB lexicons, then espeak-ng for unknown words.

misaki.en.G2P needs the spaCy model en_core_web_sm, which downloads at run time, so it cannot
be used offline. Its lexicons (gold, then silver) cover about 90k words with Kokoro's own
phoneme alphabet. About 790 of them are heteronyms whose reading depends on the part of speech
("read" VBD ɹˈɛd / VB ɹˈid, "record" noun / verb): each sentence is tagged with Penn Treebank
tags by gruut's English CRF tagger (the model ships inside the ``gruut-lang-en`` package and runs
through ``python-crfsuite``: 0.3 ms for a 17-word sentence, ~4 MB) and the lexicon entry is chosen as misaki does
(exact tag, then its parent VERB/NOUN/ADJ/ADV, then DEFAULT).
"""
from __future__ import annotations

import base64
import importlib.resources
import json
import re
import string
import threading
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[.,!?;:—…\"()“”-]")
_espeak_lock = threading.Lock()
_tagger_lock = threading.Lock()
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


@lru_cache(maxsize=1)
def _pos_tagger():
    import gruut_lang_en
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(str(gruut_lang_en.get_lang_dir() / "pos" / "model.crf"))
    return tagger


def _word_features(word: str, prefix: str = "") -> dict:
    # The features gruut.pos.PartOfSpeechTagger computed when it trained the model, copied
    # (MIT) because importing gruut itself pulls dateparser, Babel and networkx for these lines.
    features = {f"{prefix}bias": 1.0, f"{prefix}word": base64.b64encode(word.encode()).decode("ascii"),
                f"{prefix}len(word)": len(word), f"{prefix}word.ispunctuation": word in string.punctuation,
                f"{prefix}word.isdigit()": word.isdigit()}
    for i in (2, 3):
        features[f"{prefix}word[:{i}]"] = word[:i]
        features[f"{prefix}word[-{i}:]"] = word[-i:]
    return features


def pos_tags(tokens: list[str]) -> list[str]:
    """Penn Treebank tags (VBD, NN, JJ, ...) for a sentence's tokens, punctuation included."""
    sentence = []
    for i, token in enumerate(tokens):
        features = _word_features(token)
        if i == 0:
            features["BOS"] = True
        if i == len(tokens) - 1:
            features["EOS"] = True
        for j in (1, 2):
            if i >= j:
                features.update(_word_features(tokens[i - j], f"-{j}:"))
            if i + j < len(tokens):
                features.update(_word_features(tokens[i + j], f"+{j}:"))
        sentence.append(features)
    with _tagger_lock:  # one crfsuite Tagger object is not safe to share between threads
        return list(_pos_tagger().tag(sentence))


def _parent_tag(tag: str) -> str:
    """misaki's grouping of Penn tags into the lexicon's keys."""
    for prefix, parent in (("VB", "VERB"), ("NN", "NOUN"), ("RB", "ADV"), ("JJ", "ADJ")):
        if tag.startswith(prefix):
            return parent
    return tag


def _entry(word: str, british: bool, tag: str | None = None) -> str | None:
    lex = lexicon(british)
    for candidate in (word, word.lower(), word.capitalize()):
        value = lex.get(candidate)
        if isinstance(value, dict):  # a heteronym: the reading for this part of speech
            value = value.get(tag) or value.get(_parent_tag(tag or "")) or value.get("DEFAULT")
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


def word_phonemes(word: str, british: bool = False, tag: str | None = None) -> str:
    word = word.replace("’", "'")
    found = _entry(word, british, tag) or _stemmed(word, british)
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
    tags = pos_tags([t.replace("’", "'") for t in tokens]) if tokens else []
    for index, token in enumerate(tokens):
        if not token[0].isalpha():
            if out:
                out[-1] += token
            continue
        phonemes = _function_word(token, tokens[index + 1] if index + 1 < len(tokens) else "", british)
        out.append(phonemes if phonemes is not None else word_phonemes(token, british, tags[index]))
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
