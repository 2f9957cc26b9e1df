"""Basic-quality fallback: espeak-ng's formant voice for languages Kokoro cannot speak.

Labelled tier "basic" everywhere it is listed: it is intelligible but robotic, and it does NOT
speak in the enrolled voice (it only moves its pitch toward the profile's). It exists so that
Cantonese or Korean text is spoken in the right language rather than refused outright or,
worse, read with Mandarin or English rules.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator

import numpy as np
import soundfile as sf

from voicegate.errors import DomainError

from synthesis.engines.base import AudioChunk, Engine, LanguageInfo, SynthesisOptions, TextUnit, finish_chunk
from synthesis.profile import VoiceProfile

SAMPLE_RATE = 22050
ESPEAK = shutil.which("espeak-ng") or "espeak-ng"
BASE_WORDS_PER_MINUTE = 165
LANGUAGES: tuple[tuple[str, str, str], ...] = (  # code, name, espeak-ng voice
    ("yue", "Cantonese", "yue"), ("ko", "Korean", "ko"), ("vi", "Vietnamese", "vi"), ("th", "Thai", "th"),
    ("de", "German", "de"), ("ru", "Russian", "ru"), ("ar", "Arabic", "ar"), ("id", "Indonesian", "id"),
    ("tr", "Turkish", "tr"), ("nl", "Dutch", "nl"), ("pl", "Polish", "pl"),
)
_VOICE = {code: voice for code, _, voice in LANGUAGES}
NOTE = "basic quality: espeak-ng's generic synthetic voice, not the enrolled voice"


class EngineFailed(DomainError):
    status_code = 500
    code = "engine_failed"


def espeak_audio(text: str, voice: str, words_per_minute: int, pitch: int) -> np.ndarray:
    result = subprocess.run(
        [ESPEAK, "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "--stdout", text],
        capture_output=True, timeout=120, check=False)
    if result.returncode != 0 or not result.stdout:
        raise EngineFailed(f"espeak-ng could not speak this text: {result.stderr.decode(errors='replace')[:200]}")
    audio, _ = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return audio if audio.ndim == 1 else audio.mean(axis=1)


class EspeakEngine(Engine):
    name = "espeak"
    sample_rate = SAMPLE_RATE
    clones_voice = False

    def languages(self) -> list[LanguageInfo]:
        return [LanguageInfo(code, name, self.name, "basic", NOTE) for code, name, _ in LANGUAGES]

    def synthesize(self, units: list[TextUnit], profile: VoiceProfile | None,
                   options: SynthesisOptions | None = None) -> Iterator[AudioChunk]:
        options = options or SynthesisOptions()
        shift = options.pitch_semitones + (profile.pitch_semitones if profile else 0.0)
        pitch = int(np.clip(50 + 6 * shift, 0, 99))  # espeak's 0-99 pitch scale, 50 = default
        rate = int(np.clip(BASE_WORDS_PER_MINUTE * options.speed, 80, 450))
        for index, unit in enumerate(units):
            if unit.language not in _VOICE:
                raise EngineFailed(f"the espeak-ng engine does not speak {unit.language!r}")
            speech = espeak_audio(unit.text, _VOICE[unit.language], rate, pitch)
            chunk = finish_chunk(speech, SAMPLE_RATE, unit, index, options)
            chunk.extra["tier"] = "basic"
            yield chunk
