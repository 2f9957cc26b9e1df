"""Voice profiles: what an engine needs to speak in a voice, serialisable for the cache.

For Kokoro a profile is a style pack: one 256-d style row per input length ([510, 256]); the
first 128 values mostly drive timbre, the last 128 prosody. ``pitch_semitones`` is a
post-synthesis pitch shift found by enrollment to match the owner's F0.

``languages`` holds language-aware variants: for a language other than the owner's, enrollment
keeps the owner's timbre half and takes the prosody half (rhythm, intonation: the accent) from a
native stock voice of that language, with its own pitch shift. ``for_language(code)`` is the
profile to speak that language with (the profile itself where there is no variant).
``equalizer`` (band centres in Hz, gains in dB; synthesis.equalizer) is applied to the output.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STYLE_DIM = 256
PACK_ROWS = 510
_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)


@dataclass
class VoiceProfile:
    engine: str
    style: np.ndarray  # [PACK_ROWS, 256] pack, or [256] single style vector
    pitch_semitones: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    # language code -> (style pack, pitch shift) to speak that language with
    languages: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    equalizer: tuple[list[float], list[float]] | None = None

    def __post_init__(self) -> None:
        self.style = _checked_style(self.style)
        self.languages = {code: (_checked_style(style), float(pitch)) for code, (style, pitch) in self.languages.items()}

    def for_language(self, language: str | None) -> VoiceProfile:
        """The profile to speak ``language`` with: its language variant, or this profile."""
        if not language or language not in self.languages:
            return self
        style, pitch = self.languages[language]
        return VoiceProfile(self.engine, style, pitch_semitones=pitch,
                            metadata={**self.metadata, "language_variant": language}, equalizer=self.equalizer)

    def style_for(self, token_count: int) -> np.ndarray:
        """The style row Kokoro uses for an input of ``token_count`` phoneme tokens, as [1, 256]."""
        if self.style.ndim == 1:
            return self.style.reshape(1, STYLE_DIM)
        row = min(max(token_count, 1), self.style.shape[0]) - 1
        return self.style[row].reshape(1, STYLE_DIM)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        header = {"version": _FORMAT_VERSION, "engine": self.engine,
                  "pitch_semitones": self.pitch_semitones, "metadata": self.metadata,
                  "languages": {code: pitch for code, (_, pitch) in self.languages.items()},
                  "equalizer": [list(part) for part in self.equalizer] if self.equalizer else None}
        arrays = {f"style_{code}": style for code, (style, _) in self.languages.items()}
        np.savez(buffer, style=self.style, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> VoiceProfile:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(archive["header"].tobytes().decode())
            if header.get("version") not in _READABLE_VERSIONS:
                raise ValueError(f"unknown voice profile format version {header.get('version')}")
            style = archive["style"]
            languages = {code: (archive[f"style_{code}"], float(pitch))
                         for code, pitch in header.get("languages", {}).items()}
        return cls(engine=header["engine"], style=style, pitch_semitones=float(header["pitch_semitones"]),
                   metadata=header.get("metadata", {}), languages=languages,
                   equalizer=tuple(header["equalizer"]) if header.get("equalizer") else None)


def _checked_style(style) -> np.ndarray:
    style = np.asarray(style, dtype=np.float32)
    if style.ndim == 3:  # the [510, 1, 256] layout of Kokoro's .npz packs
        style = style.reshape(style.shape[0], style.shape[-1])
    if style.shape[-1] != STYLE_DIM or style.ndim not in (1, 2):
        raise ValueError(f"a style must be [N, {STYLE_DIM}] or [{STYLE_DIM}], got {style.shape}")
    return style
