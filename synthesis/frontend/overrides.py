"""Inline pronunciation overrides, in the syntax of the CosyVoice articles.

- pinyin after a Chinese character: ``她好[h][ào]看`` (initial + final with a tone mark) or
  ``好[hao4]`` (numbered tone); it replaces that character's reading.
- ARPAbet for a word: ``[M][AY0][N][UW1][T]``; the whole bracket run is one English word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from voicegate.errors import DomainError

ARPABET_TO_IPA: dict[str, str] = {
    # misaki's US phoneme set (what Kokoro was trained on): diphthongs are single letters.
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "W", "AY": "I", "EH": "ɛ", "ER": "ɜɹ",
    "EY": "A", "IH": "ɪ", "IY": "i", "OW": "O", "OY": "Y", "UH": "ʊ", "UW": "u",
    "B": "b", "CH": "ʧ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "ʤ", "K": "k",
    "L": "l", "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t",
    "TH": "θ", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}
_UNSTRESSED = {"AH": "ə", "ER": "əɹ"}  # reduced vowels in misaki's alphabet
_STRESS_MARKS = {"1": "ˈ", "2": "ˌ", "0": ""}

# one or more [..] groups; classified below as ARPAbet (upper case) or pinyin (lower case)
BRACKET_RUN = re.compile(r"(?:\[[A-Za-z\u00C0-\u024F\u0300-\u036F:]+[0-5]?\])+")
_GROUP = re.compile(r"\[([^\]]+)\]")
_ARPA_SYMBOL = re.compile(r"^([A-Z]{1,2})([012])?$")


class InvalidOverride(DomainError):
    code = "invalid_override"


@dataclass(frozen=True)
class Override:
    kind: str  # "pinyin" or "arpabet"
    value: str  # numbered pinyin ("hao4") or IPA for the word


def is_arpabet_run(groups: list[str]) -> bool:
    return all(_ARPA_SYMBOL.match(g) and _ARPA_SYMBOL.match(g).group(1) in ARPABET_TO_IPA for g in groups)


def arpabet_to_ipa(groups: list[str]) -> str:
    out = []
    for group in groups:
        match = _ARPA_SYMBOL.match(group)
        if not match or match.group(1) not in ARPABET_TO_IPA:
            raise InvalidOverride(f"[{group}] is not an ARPAbet phoneme (e.g. [M][AY0][N][UW1][T])")
        symbol, stress = match.group(1), match.group(2)
        if stress is None:  # consonant
            out.append(ARPABET_TO_IPA[symbol])
        elif stress == "0":
            out.append(_UNSTRESSED.get(symbol, ARPABET_TO_IPA[symbol]))
        else:
            out.append(_STRESS_MARKS[stress] + ARPABET_TO_IPA[symbol])
    return "".join(out)


def pinyin_to_numbered(groups: list[str]) -> str:
    """``["h", "ào"]`` or ``["hao4"]`` -> ``"hao4"``; raises on anything that is not a syllable."""
    from pypinyin.contrib.tone_convert import to_tone3

    syllable = "".join(groups).lower().replace("u:", "ü").replace("v", "ü")
    if re.fullmatch(r"[a-zü]+[1-5]", syllable):
        numbered = syllable
    else:
        numbered = to_tone3(syllable, neutral_tone_with_five=True)
        if not re.fullmatch(r"[a-zü]+[1-5]", numbered):
            raise InvalidOverride(f"[{']['.join(groups)}] is not a pinyin syllable with a tone "
                                  "(write [h][ào] or [hao4])")
    numbered = numbered.replace("ü", "v")
    from synthesis.frontend.chinese import syllable_ipa

    if not syllable_ipa(numbered):
        raise InvalidOverride(f"[{']['.join(groups)}] is not a Mandarin pinyin syllable (write [h][ào] or [hao4])")
    return numbered


def parse_bracket_run(run: str) -> Override:
    groups = _GROUP.findall(run)
    if is_arpabet_run(groups):
        return Override("arpabet", arpabet_to_ipa(groups))
    return Override("pinyin", pinyin_to_numbered(groups))
