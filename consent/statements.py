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

# 64 words each: four words give 24 bits, plenty against replaying a stale recording
# (the challenge also expires and is single use).
_PHRASE_WORDS = {
    "en": (
        "amber", "anchor", "apple", "autumn", "banjo", "basket", "beacon", "bicycle", "blanket", "bridge",
        "camera", "candle", "canyon", "carpet", "castle", "cherry", "copper", "cotton", "desert", "dolphin",
        "dragon", "engine", "falcon", "feather", "forest", "garden", "ginger", "guitar", "hammer", "hatchet",
        "helmet", "island", "jacket", "jungle", "kettle", "ladder", "lantern", "lemon", "magnet", "marble",
        "meadow", "mirror", "monkey", "needle", "orange", "oyster", "paddle", "parrot", "pepper", "pillow",
        "planet", "pocket", "rabbit", "ribbon", "river", "rocket", "saddle", "silver", "spider", "tiger",
        "tomato", "tunnel", "velvet", "window",
    ),
    "zh": (
        "苹果", "香蕉", "桌子", "椅子", "窗户", "月亮", "太阳", "星星", "河流", "高山", "森林", "花园", "老虎",
        "熊猫", "骆驼", "海豚", "蝴蝶", "燕子", "火车", "飞机", "轮船", "自行车", "铅笔", "书包", "雨伞", "钥匙",
        "镜子", "灯笼", "风筝", "茶杯", "面包", "西瓜", "葡萄", "草莓", "米饭", "饺子", "馒头", "牛奶", "咖啡",
        "音乐", "电影", "足球", "篮球", "图书馆", "医院", "学校", "公园", "广场", "港口", "桥梁", "城堡", "宝石",
        "丝绸", "瓷器", "竹子", "松树", "梅花", "荷花", "彩虹", "雪花", "春天", "夏天", "秋天", "冬天",
    ),
}
PHRASE_WORD_COUNT = 4

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


def random_phrase(language: str = "en", words: int = PHRASE_WORD_COUNT) -> str:
    vocabulary = _PHRASE_WORDS[language]
    chosen = [secrets.choice(vocabulary) for _ in range(words)]
    return ("" if language == "zh" else " ").join(chosen)


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
                f"我可以随时撤回这项同意。确认短语：{phrase}。")
    else:
        text = (f"My name is {owner_name}. Today is {on.strftime('%B')} {on.day}, {on.year}. "
                f"I agree that {organisation_name} may create synthetic speech in my voice for "
                f"{_join(use_names, language)}, in {_join(language_names, language)}. "
                f"I can withdraw this consent at any time. My confirmation phrase is: {phrase}.")
    return Statement(text=text, phrase=phrase, language=language)


def _normalise(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def phrase_words_found(phrase: str, transcript: str, language: str = "en") -> tuple[int, int]:
    """(phrase words heard in the transcript, phrase words): the anti-replay part of the content check."""
    # zh phrases are written without spaces; split them back into the words we drew.
    words = _split_zh_phrase(phrase) if language == "zh" else phrase.split()
    heard = _normalise(transcript)
    return sum(1 for word in words if _normalise(word) and _normalise(word) in heard), len(words)


def _split_zh_phrase(phrase: str) -> list[str]:
    """Split a joined zh phrase back into vocabulary words (longest match first)."""
    vocabulary = sorted(_PHRASE_WORDS["zh"], key=len, reverse=True)
    words, rest = [], phrase
    while rest:
        word = next((w for w in vocabulary if rest.startswith(w)), rest[0])
        words.append(word)
        rest = rest[len(word):]
    return words
