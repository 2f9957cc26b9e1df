"""Text front end: user text -> sentence-sized TextUnits with phonemes for the engine.

Steps: refuse over-long text; pick the language (or detect it); split into sentences with
natural pauses; inside each sentence, honour inline overrides (pinyin ``好[h][ào]`` /
``[hao4]``, ARPAbet ``[M][AY0][N][UW1][T]``), normalise numbers/dates/money/units, split mixed
Chinese-English text by script, and phonemise each run in its own language.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from voicegate.errors import DomainError, PayloadTooLarge

from synthesis.engines import language_info
from synthesis.engines.base import TextUnit
from synthesis.frontend.chinese import HAN, chinese_phonemes, punctuation_marks
from synthesis.frontend.english import english_phonemes
from synthesis.frontend.languages import (ESPEAK_VOICES, KANA, detect_language, espeak_phonemes,
                                          japanese_phonemes)
from synthesis.frontend.normalize import normalize_chinese, normalize_english
from synthesis.frontend.overrides import BRACKET_RUN, parse_bracket_run

__all__ = ["MAX_CHARACTERS_PER_JOB", "TextTooLong", "EmptyText", "assert_speakable", "prepare_text", "phonemize",
           "split_sentences", "detect_language", "resolve_language", "Sentence"]

MAX_CHARACTERS_PER_JOB = 10_000
MAX_UNIT_TOKENS = 300  # longer sentences are cut at commas: steadier prosody, faster first audio
FIRST_UNIT_TOKENS = 50  # the first sentence is cut at its first clause above this: audio starts sooner
PAUSE_SENTENCE_S = 0.35
PAUSE_QUESTION_S = 0.45
PAUSE_PARAGRAPH_S = 0.7
PAUSE_CLAUSE_S = 0.15
_CJK_PUNCTUATION = "，。！？、：；“”《》（）「」…—"


class TextTooLong(PayloadTooLarge):
    code = "text_too_long"


class EmptyText(DomainError):
    code = "empty_text"


@dataclass(frozen=True)
class Sentence:
    text: str
    pause_after_s: float


_SENTENCE_END = re.compile(
    r"(?<=[。！？!?；;…])[\"”’」』)）]*\s*"        # CJK/any terminal punctuation
    r"|(?<=[^\s.A-Z][a-z\d\])]\.)[\"”’)]*\s+"     # "word. Next" but not "e.g." / "Mr." / "U.S."
    r"|\n\s*")
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "St.", "vs.", "etc.", "No.", "Inc.", "Ltd.")


def split_sentences(text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start:match.end()]
        if piece.strip().endswith(_ABBREVIATIONS) and "\n" not in match.group(0):
            continue
        _append_sentence(sentences, piece, match.group(0))
        start = match.end()
    _append_sentence(sentences, text[start:], "")
    return sentences


def _append_sentence(sentences: list[Sentence], piece: str, separator: str) -> None:
    stripped = piece.strip()
    if not re.search(r"\w", stripped):
        return
    if "\n" in separator:
        pause = PAUSE_PARAGRAPH_S
    elif stripped.rstrip("\"”’」』)）").endswith(("?", "？", "!", "！")):
        pause = PAUSE_QUESTION_S
    else:
        pause = PAUSE_SENTENCE_S
    sentences.append(Sentence(stripped, pause))


def resolve_language(text: str, language: str, default: str = "en") -> str:
    """The language code to speak ``text`` in; ``auto`` detects it (``default`` where the text leaves it open)."""
    code = (language or "auto").strip().lower()
    code = {"zh-cn": "zh", "cmn": "zh", "zh-yue": "yue", "en-us": "en", "pt-br": "pt", "jp": "ja"}.get(code, code)
    if code == "auto":
        code = detect_language(text, default or "en")
    language_info(code)  # raises UnsupportedLanguage listing the supported ones
    return code


# ------------------------------------------------------------------ phonemisation
def _text_run_phonemes(text: str, language: str, overrides: dict[int, str]) -> str:
    """A run without brackets: normalise and phonemise, splitting Han from Latin script."""
    if language == "ja":
        return japanese_phonemes(text)
    if language in ESPEAK_VOICES:
        return espeak_phonemes(text, language)
    pieces: list[str] = []
    position = 0
    # Han/kana runs (with the CJK punctuation after them) vs everything else
    leading = ""  # marks before any word: the caller glues them to what came before
    for run in re.findall(rf"[{HAN}{KANA}]+[{HAN}{KANA}{_CJK_PUNCTUATION}]*|[^{HAN}{KANA}]+", text):
        shifted = {i - position: v for i, v in overrides.items() if position <= i < position + len(run)}
        position += len(run)
        if re.search(f"[{KANA}]", run):
            pieces.append(japanese_phonemes(run))
            continue
        if re.search(f"[{HAN}]", run):
            pieces.append(chinese_phonemes(normalize_chinese(run) if not shifted else run, shifted))
            continue
        # A non-Han run may start with the punctuation that ends the Han run before it ("好! ...",
        # ASCII marks are not part of a Han run): it belongs to that run, never dropped.
        marks, run = _split_leading_marks(run)
        if marks and pieces:
            pieces[-1] += marks
        elif marks:
            leading += marks
        if re.search(r"[A-Za-z]", run) or (language in ("en", "en-gb") and re.search(r"\w", run)):
            # Latin script inside any language is read as English (mixed zh-en text); CJK marks
            # in it ("minute，好") become the ASCII ones the English G2P keeps.
            pieces.append(english_phonemes(normalize_english(run.translate(_CJK_TO_ASCII)),
                                           british=language == "en-gb"))
        elif re.search(r"\d", run):
            pieces.append(chinese_phonemes(normalize_chinese(run)))
        else:
            trailing = punctuation_marks(run)
            if trailing and pieces:
                pieces[-1] += trailing
    body = " ".join(p for p in pieces if p)
    return f"{leading} {body}".strip() if leading else body


# Marks that close a phrase (pause, intonation). After an inline override they start the next
# text run; they still belong to the word before them.
# (Not a straight quote: after a space it usually opens the next phrase.)
_LEADING_MARKS = re.compile(r"\s*([,.!?;:…—)”，、。．！？：；）」》]+)")
_CJK_TO_ASCII = str.maketrans({"，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";",
                               "（": "(", "）": ")", "「": "“", "」": "”", "《": "“", "》": "”"})


def _split_leading_marks(text: str) -> tuple[str, str]:
    """("!  Now go", ...) -> ("!", "  Now go"): the engine's marks for the leading punctuation, and the rest."""
    match = _LEADING_MARKS.match(text)
    if not match:
        return "", text
    return punctuation_marks(match.group(1)), text[match.end():]


def _join_segments(segments: list[str]) -> str:
    """Join phonemised pieces with spaces; marks that start a piece end the piece before it."""
    out = ""
    for segment in segments:
        segment = segment.strip()
        head = re.match(r"[,.!?;:…—)”]+", segment)
        if head:
            out += head.group(0) if out else ""  # nothing before it: a mark cannot start speech
            segment = segment[head.end():].strip()
        if segment:
            out = f"{out} {segment}" if out else segment
    return out


def phonemize(text: str, language: str) -> str:
    """One sentence -> engine phonemes, honouring inline overrides."""
    segments: list[str] = []
    pending_text = ""
    pending_overrides: dict[int, str] = {}
    cursor = 0
    for match in BRACKET_RUN.finditer(text):
        pending_text += text[cursor:match.start()]
        cursor = match.end()
        override = parse_bracket_run(match.group(0))
        if override.kind == "pinyin":
            if not pending_text or not re.match(rf"[{HAN}]", pending_text[-1]):
                raise DomainError(f"the pinyin override {match.group(0)} must follow the Chinese "
                                  "character it is for, e.g. 她好[h][ào]看 or 好[hao4]")
            pending_overrides[len(pending_text) - 1] = override.value
        else:
            segments.append(_flush(pending_text, language, pending_overrides))
            segments.append(override.value)
            pending_text, pending_overrides = "", {}
    pending_text += text[cursor:]
    segments.append(_flush(pending_text, language, pending_overrides))
    return _join_segments(segments)


def _flush(text: str, language: str, overrides: dict[int, str]) -> str:
    if not text.strip():
        return ""
    if overrides:
        # Normalising would move character positions; normalise only around the overrides.
        return _text_run_phonemes(text, language, overrides)
    if language == "zh" and re.search(r"\d", text):
        text = normalize_chinese(text)
    return _text_run_phonemes(text, language, {})


def _token_count(phonemes: str) -> int:
    from synthesis.engines.kokoro_vocab import tokenize  # not the engine: it imports this module

    return len(tokenize(phonemes))


def _clauses(sentence: Sentence) -> list[Sentence]:
    """Cut a sentence at commas (then spaces) into pieces; the last keeps the sentence pause."""
    parts = [p for p in re.split(r"(?<=[,，、;；:：])\s*", sentence.text) if p.strip()]
    if len(parts) <= 1:
        words = sentence.text.split()
        if len(words) <= 1:  # unspaced text: cut by characters
            size = max(1, len(sentence.text) // 2)
            parts = [sentence.text[i:i + size] for i in range(0, len(sentence.text), size)]
        else:
            half = len(words) // 2
            parts = [" ".join(words[:half]), " ".join(words[half:])]
    return [Sentence(p.strip(), PAUSE_CLAUSE_S) for p in parts[:-1]] + [Sentence(parts[-1].strip(), sentence.pause_after_s)]


def _units_for(sentence: Sentence, language: str, depth: int = 0) -> list[TextUnit]:
    phonemes = phonemize(sentence.text, language)
    if _token_count(phonemes) <= MAX_UNIT_TOKENS or depth >= 4 or len(sentence.text) < 8:
        return [TextUnit(sentence.text, language, phonemes, sentence.pause_after_s)] if phonemes else []
    return [unit for part in _clauses(sentence) for unit in _units_for(part, language, depth + 1)]


def assert_speakable(text: str) -> None:
    """EmptyText unless the text has a letter or a digit to say.

    Emoji, symbols and punctuation alone have nothing an engine can read; this is checked
    before a generation is stored, so such a request is a 400 and not a failed job.
    """
    if not text or not text.strip():
        raise EmptyText("the text is empty: there is nothing to say")
    if not any(unicodedata.category(char)[0] in "LN" for char in text):
        raise EmptyText("the text has nothing speakable in it (only emoji, symbols or punctuation): "
                        "write the words to say")


def prepare_text(text: str, language: str = "auto") -> list[TextUnit]:
    """User text -> TextUnits, one per sentence (long ones cut at clauses).

    Raises TextTooLong above MAX_CHARACTERS_PER_JOB, EmptyText when nothing is speakable and
    UnsupportedLanguage (listing the supported languages) for a language no engine speaks.
    """
    if len(text) > MAX_CHARACTERS_PER_JOB:
        raise TextTooLong(f"the text has {len(text):,} characters; at most {MAX_CHARACTERS_PER_JOB:,} "
                          "can be synthesized in one job: split it into several jobs",
                          details={"characters": len(text), "limit": MAX_CHARACTERS_PER_JOB})
    assert_speakable(text)
    code = resolve_language(text, language)
    info = language_info(code)
    sentences = split_sentences(text)
    if info.engine != "kokoro":
        # engines that read text themselves (espeak-ng) get the sentences as written
        return [TextUnit(s.text, code, None, s.pause_after_s) for s in sentences]
    units = [unit for sentence in sentences for unit in _units_for(sentence, code)]
    if units and _token_count(units[0].phonemes or "") > FIRST_UNIT_TOKENS:
        first = Sentence(units[0].text, units[0].pause_after_s)
        clauses = _clauses(first) if re.search(r"[,，、;；:：]", first.text) else [first]
        units[:1] = [unit for clause in clauses for unit in _units_for(clause, code)]
    if not units:
        raise EmptyText("the text has nothing speakable in it (only symbols or punctuation)")
    return units
