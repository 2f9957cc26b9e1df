"""Spell out numbers, dates, money, percentages and units, so G2P sees words.

Chinese uses misaki's TextNormalizer (PaddleSpeech's rules: dates, times, percentages,
units, phone numbers, negative temperatures) after a pass for what it misses (currency signs,
thousands separators), then cn2an for any digits left. English uses num2words under a small
set of patterns of our own, because no offline English normaliser is packaged here.
"""
from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

# ---------------------------------------------------------------- Chinese
_ZH_CURRENCY = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑"}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


@lru_cache(maxsize=1)
def _zh_normalizer():
    from misaki.zh_normalization.text_normalization import TextNormalizer

    return TextNormalizer()


def normalize_chinese(text: str) -> str:
    import cn2an

    text = _THOUSANDS.sub("", text)
    for sign, word in _ZH_CURRENCY.items():
        # "¥1280.5" / "$20" -> "1280.5元" / "20美元" (drop a doubled "元" the writer already put)
        text = re.sub(re.escape(sign) + r"\s*(\d+(?:\.\d+)?)(元|美元|欧元|英镑)?",
                      lambda m, w=word: f"{m.group(1)}{m.group(2) or w}", text)
    # Latin words not attached to a number (iPhone, meeting) pass through untouched: the
    # normaliser's unit rules would otherwise read their letters as units ("h" -> 小时).
    pieces = _LATIN_WORD.split(text)
    for i in range(0, len(pieces), 2):
        if pieces[i]:
            normalised = "".join(_zh_normalizer().normalize(pieces[i]))
            pieces[i] = cn2an.transform(normalised, "an2cn") if re.search(r"\d", normalised) else normalised
    return "".join(pieces)


_LATIN_WORD = re.compile(r"((?<![\dA-Za-z/])(?<!\d\s)[A-Za-z][A-Za-z'’-]*)")


# ---------------------------------------------------------------- English
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_EN_UNITS = {
    "km/h": ("kilometre per hour", "kilometres per hour"), "mph": ("mile per hour", "miles per hour"),
    "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"), "mg": ("milligram", "milligrams"),
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "m": ("meter", "meters"), "mi": ("mile", "miles"), "ft": ("foot", "feet"), "in": ("inch", "inches"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "ml": ("milliliter", "milliliters"),
    "l": ("liter", "liters"), "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes"),
    "KB": ("kilobyte", "kilobytes"), "TB": ("terabyte", "terabytes"), "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"), "ms": ("millisecond", "milliseconds"), "s": ("second", "seconds"),
    "h": ("hour", "hours"), "min": ("minute", "minutes"), "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"), "℃": ("degree Celsius", "degrees Celsius"),
}
_EN_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
                "£": ("pound", "pounds", "penny", "pence"), "¥": ("yuan", "yuan", "fen", "fen")}
_NUMBER = r"-?\d+(?:\.\d+)?"


def _cardinal(number: str) -> str:
    value = float(number) if "." in number else int(number)
    return num2words(value).replace("-", " ").replace(",", "")


def _money(match: re.Match) -> str:
    one, many, sub_one, sub_many = _EN_CURRENCY[match.group(1)]
    whole, _, cents = match.group(2).partition(".")
    words = f"{_cardinal(whole)} {one if whole == '1' else many}"
    if cents and int(cents[:2].ljust(2, "0")):
        amount = int(cents[:2].ljust(2, "0"))
        words += f" and {_cardinal(str(amount))} {sub_one if amount == 1 else sub_many}"
    return words


def _unit(match: re.Match) -> str:
    number, unit = match.group(1), match.group(2)
    one, many = _EN_UNITS[unit]
    return f"{_cardinal(number)} {one if number in ('1', '-1') else many}"


def _year(number: str) -> str:
    return num2words(int(number), to="year").replace("-", " ").replace(",", "")


def _date(year: str, month: str, day: str) -> str:
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return f"{year} {month} {day}"
    ordinal = num2words(int(day), to="ordinal").replace("-", " ")
    return f"{_MONTHS[int(month) - 1]} {ordinal}, {_year(year)}"


def _time(match: re.Match) -> str:
    hours, minutes, suffix = int(match.group(1)), int(match.group(2)), (match.group(3) or "").lower()
    spoken = _cardinal(str(hours))
    if minutes == 0:
        spoken += " o'clock" if not suffix else ""
    elif minutes < 10:
        spoken += f" oh {_cardinal(str(minutes))}"
    else:
        spoken += f" {_cardinal(str(minutes))}"
    if suffix:
        spoken += " " + " ".join(suffix.replace(".", ""))
    return spoken


def normalize_english(text: str) -> str:
    text = _THOUSANDS.sub("", text)
    text = re.sub(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", lambda m: _date(m.group(1), m.group(2), m.group(3)), text)
    text = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", lambda m: _date(m.group(3), m.group(1), m.group(2)), text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?(?![\w])", _time, text, flags=re.IGNORECASE)
    text = re.sub(r"([$€£¥])\s?(\d+(?:\.\d+)?)", _money, text)
    text = re.sub(rf"({_NUMBER})\s?%", lambda m: f"{_cardinal(m.group(1))} percent", text)
    units = "|".join(re.escape(u) for u in sorted(_EN_UNITS, key=len, reverse=True))
    text = re.sub(rf"({_NUMBER})\s?({units})(?![\w/])", _unit, text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: num2words(int(m.group(1)), to="ordinal").replace("-", " "), text)
    # four-digit numbers standing alone between 1100 and 2099 are read as years
    text = re.sub(r"(?<![\d.])(1[1-9]\d\d|20\d\d)(?![\d.])", lambda m: _year(m.group(1)), text)
    text = re.sub(rf"(?<![\w.]){_NUMBER}(?![\w])", lambda m: _cardinal(m.group(0)), text)
    return text
