"""Mandarin G2P: jieba words -> pypinyin readings in phrase context -> tone sandhi -> IPA.

pypinyin's phrase dictionary resolves polyphones from the word jieba finds (银行 yín háng,
行走 xíng zǒu, 重要 zhòng yào, 重新 chóng xīn); misaki's ToneSandhi applies 3-3, 不 and 一
sandhi; misaki's pinyin-to-IPA gives the tone-arrow phonemes Kokoro v1.0 was trained on.
Character-level readings are exposed so inline ``[hao4]`` overrides replace exactly one.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

HAN = r"\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF"
_lock = threading.Lock()  # jieba's lazy initialisation is not thread-safe
_PUNCTUATION = {"，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";",
                "…": "…", "—": "—", "“": "“", "”": "”", "《": "“", "》": "”", "「": "“", "」": "”",
                "（": "(", "）": ")", ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";"}


@lru_cache(maxsize=1)
def _sandhi():
    from misaki.tone_sandhi import ToneSandhi

    return ToneSandhi()


def readings(text: str) -> list[tuple[str, list[str]]]:
    """Words of a Han run with one numbered-pinyin reading per character."""
    import jieba.posseg
    from pypinyin import Style, lazy_pinyin

    with _lock:
        words = jieba.posseg.lcut(text)
    out = []
    for word, tag in words:
        syllables = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True,
                                errors=lambda chars: ["" for _ in chars])
        if len(syllables) != len(word):  # a character pypinyin cannot read: keep the lengths aligned
            syllables = (syllables + [""] * len(word))[: len(word)]
        out.append((word, _sandhi().modified_tone(word, tag, syllables)))
    return out


def syllable_ipa(numbered: str) -> str:
    from misaki.zh import ZHG2P

    if not numbered:
        return ""
    try:
        return ZHG2P.py2ipa(numbered).replace(chr(815), "")
    except Exception:  # pinyin_to_ipa rejects impossible syllables; say nothing rather than noise
        return ""


def punctuation_marks(text: str) -> str:
    """The engine's punctuation marks for ``text`` (CJK marks mapped to ASCII; anything else dropped)."""
    return "".join(_PUNCTUATION.get(ch, ch if ch in '"()' else "") for ch in text)


def chinese_phonemes(text: str, overrides: dict[int, str] | None = None) -> str:
    """Han text (punctuation allowed) -> IPA; ``overrides`` maps character index -> "hao4"."""
    overrides = overrides or {}
    pieces: list[str] = []
    position = 0
    for run in re.findall(rf"[{HAN}]+|[^{HAN}]+", text):
        if not re.match(rf"[{HAN}]", run):
            mapped = punctuation_marks(run)
            if mapped and pieces:
                pieces[-1] += mapped
            position += len(run)
            continue
        for word, syllables in readings(run):
            chosen = [overrides.get(position + i, s) for i, s in enumerate(syllables)]
            pieces.append("".join(syllable_ipa(s) for s in chosen))
            position += len(word)
    return " ".join(p for p in pieces if p)
