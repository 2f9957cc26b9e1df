"""The engine contract: text units + a voice profile + options in, audio chunks out.

Engines are plain modules over NumPy arrays (no Django), so the job layer, the streaming view,
the benchmark and the tests drive them the same way. One chunk per text unit (a sentence) lets
callers stream: the first chunk is returned before later units are synthesized.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from voicegate.errors import DomainError

if TYPE_CHECKING:  # profile imports nothing from here at runtime; avoid a cycle for readers
    from synthesis.profile import VoiceProfile

MIN_SPEED = 0.5
MAX_SPEED = 2.0
Tier = Literal["standard", "basic"]


class UnsupportedLanguage(DomainError):
    code = "unsupported_language"


class InvalidSynthesisOption(DomainError):
    code = "invalid_option"


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    name: str
    engine: str
    tier: Tier
    note: str = ""


@dataclass(frozen=True)
class TextUnit:
    """One sentence (or a piece of an over-long one) ready for an engine.

    ``phonemes`` are in the engine's phoneme alphabet (Kokoro/misaki IPA) when the front end
    could produce them; engines that read plain text (espeak-ng) use ``text``.
    """

    text: str
    language: str
    phonemes: str | None = None
    pause_after_s: float = 0.35


@dataclass(frozen=True)
class SynthesisOptions:
    """Controls an engine honours. Instructions (synthesis.instructions) compile into these."""

    speed: float = 1.0
    volume_db: float = 0.0
    pitch_semitones: float = 0.0
    energy: float = 1.0  # >1 livelier prosody (style-vector push), <1 flatter
    pause_scale: float = 1.0  # multiplies each unit's pause_after_s
    style: str | None = None  # the emotion/style label that produced the settings, for audit

    def __post_init__(self) -> None:
        if not MIN_SPEED <= self.speed <= MAX_SPEED:
            raise InvalidSynthesisOption(
                f"speed {self.speed:g} is out of range; use a value from {MIN_SPEED} to {MAX_SPEED}")
        if not -24.0 <= self.volume_db <= 12.0:
            raise InvalidSynthesisOption("volume_db must be between -24 and +12 dB")
        if not -6.0 <= self.pitch_semitones <= 6.0:
            raise InvalidSynthesisOption("pitch_semitones must be between -6 and +6")
        if not 0.0 < self.pause_scale <= 4.0:
            raise InvalidSynthesisOption("pause_scale must be between 0 and 4")
        if not 0.0 <= self.energy <= 2.0:
            raise InvalidSynthesisOption("energy must be between 0 and 2")


@dataclass
class AudioChunk:
    samples: np.ndarray  # float32 mono in [-1, 1], speech followed by the unit's pause
    sample_rate: int
    unit_index: int
    text: str
    extra: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate


class Engine(ABC):
    name: str
    sample_rate: int
    #: whether the engine speaks in an enrolled voice (False for espeak-ng's generic voice)
    clones_voice: bool = True

    @abstractmethod
    def languages(self) -> list[LanguageInfo]:
        ...

    @abstractmethod
    def synthesize(self, units: list[TextUnit], profile: VoiceProfile | None,
                   options: SynthesisOptions | None = None) -> Iterator[AudioChunk]:
        """Yield one chunk per unit, lazily: unit i+1 is synthesized only when asked for."""

    def default_profile(self) -> VoiceProfile | None:
        return None

    def supports(self, language: str) -> bool:
        return any(info.code == language for info in self.languages())


def finish_chunk(speech: np.ndarray, sample_rate: int, unit: TextUnit, index: int,
                 options: SynthesisOptions) -> AudioChunk:
    """Apply loudness and the unit's pause: the same for every engine, so options mean one thing."""
    audio = np.asarray(speech, dtype=np.float32)
    if options.volume_db:
        audio = audio * np.float32(10 ** (options.volume_db / 20))
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0.99:  # never clip: louder instructions saturate at full scale instead
        audio = audio * np.float32(0.99 / peak)
    pause = np.zeros(int(round(unit.pause_after_s * options.pause_scale * sample_rate)), np.float32)
    return AudioChunk(np.concatenate([audio, pause]), sample_rate, index, unit.text)
