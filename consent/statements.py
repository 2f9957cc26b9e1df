"""The consent statement an owner reads aloud: generated per consent, never reused.

It names the owner, the organisation, the date and the scope, and ends with a random phrase
of common words. The phrase is the anti-replay part: a recording made before the statement
was generated cannot contain it. Words are everyday, unambiguous ones so that a speech
recogniser (where one is available) can check them and a person can read them naturally.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

STATEMENT_LANGUAGES = ("en", "zh")

# The random part is a code of single digits read one by one: a recogniser hears digits far
# more reliably than arbitrary words (Whisper base turned "island jacket" into "I'll inject it"),
# and six digits (10^6 codes) are plenty when the statement also expires and is single use.
CODE_DIGITS = 6
DIGIT_WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "zh": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九"),
}
_HEARD_DIGITS = {**{word: str(n) for n, word in enumerate(DIGIT_WORDS["en"])}, "oh": "0",
                 **{word: str(n) for n, word in enumerate(DIGIT_WORDS["zh"])}, "〇": "0", "两": "2", "幺": "1"}

LANGUAGE_NAMES = {
    "en": {"zh": "Mandarin Chinese", "en": "English", "ja": "Japanese", "yue": "Cantonese", "ko": "Korean",
           "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "hi": "Hindi"},
    "zh": {"zh": "普通话", "en": "英语", "ja": "日语", "yue": "粤语", "ko": "韩语", "fr": "法语", "de": "德语",
           "es": "西班牙语", "it": "意大利语", "pt": "葡萄牙语", "hi": "印地语"},
}
USE_NAMES = {
    "en": {"narration": "narration", "advertising": "advertising", "dubbing": "dubbing",
           "audiobook": "audiobooks", "assistant": "voice assistants", "games": "games", "education": "education"},
    "zh": {"narration": "旁白", "advertising": "广告", "dubbing": "配音", "audiobook": "有声书",
           "assistant": "语音助手", "games": "游戏", "education": "教育"},
}


@dataclass(frozen=True)
class Statement:
    text: str
    phrase: str
    language: str


def random_phrase(language: str = "en", digits: int = CODE_DIGITS) -> str:
    """The confirmation code, as digits ("407193")."""
    return "".join(str(secrets.randbelow(10)) for _ in range(digits))


def spoken_code(code: str, language: str) -> str:
    """The code as the owner reads it: digit by digit, in words."""
    words = [DIGIT_WORDS[language][int(digit)] for digit in code]
    return "".join(words) if language == "zh" else ", ".join(words)


def _join(items: list[str], language: str) -> str:
    if language == "zh":
        return "、".join(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def compose_statement(*, owner_name: str, organisation_name: str, on: date, languages: list[str],
                      uses: list[str], language: str = "en", phrase: str | None = None) -> Statement:
    """The text the owner reads; ``phrase`` is drawn at random unless given (tests)."""
    if language not in STATEMENT_LANGUAGES:
        raise ValueError(f"statements are available in: {', '.join(STATEMENT_LANGUAGES)}")
    phrase = phrase or random_phrase(language)
    language_names = [LANGUAGE_NAMES[language].get(code, code) for code in languages]
    use_names = [USE_NAMES[language].get(use, use) for use in uses]
    if language == "zh":
        text = (f"我是{owner_name}。今天是{on.year}年{on.month}月{on.day}日。我同意{organisation_name}"
                f"使用我的声音合成语音，用于{_join(use_names, language)}，语言为{_join(language_names, language)}。"
                f"我可以随时撤回这项同意。确认码：{spoken_code(phrase, language)}。")
    else:
        text = (f"My name is {owner_name}. Today is {on.strftime('%B')} {on.day}, {on.year}. "
                f"I agree that {organisation_name} may create synthetic speech in my voice for "
                f"{_join(use_names, language)}, in {_join(language_names, language)}. "
                f"I can withdraw this consent at any time. My confirmation code is: {spoken_code(phrase, language)}.")
    return Statement(text=text, phrase=phrase, language=language)


def heard_digits(transcript: str) -> str:
    """Every digit in a transcript, whether written as digits or as digit words (en, zh)."""
    text = unicodedata.normalize("NFKC", transcript).lower()
    tokens = re.findall(r"[0-9]|[a-z]+|[零〇一二两三四五六七八九幺]", text)
    return "".join(token if token.isdigit() else _HEARD_DIGITS.get(token, "") for token in tokens)


def code_digits_heard(code: str, transcript: str) -> tuple[int, int]:
    """(digits of the code heard in place, digits in the code): best alignment over the transcript's digits."""
    heard = heard_digits(transcript)
    best = 0
    for start in range(max(1, len(heard) - len(code) + 1)):
        window = heard[start:start + len(code)]
        best = max(best, sum(1 for a, b in zip(code, window) if a == b))
    return best, len(code)
