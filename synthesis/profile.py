"""Voice profiles: what an engine needs to speak in a voice, serialisable for the cache.

For Kokoro a profile is a style pack: one 256-d style row per input length ([510, 256]); the
first 128 values mostly drive timbre, the last 128 prosody. ``pitch_semitones`` is a
post-synthesis pitch shift found by enrollment to match the owner's F0.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STYLE_DIM = 256
PACK_ROWS = 510
_FORMAT_VERSION = 1


@dataclass
class VoiceProfile:
    engine: str
    style: np.ndarray  # [PACK_ROWS, 256] pack, or [256] single style vector
    pitch_semitones: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        style = np.asarray(self.style, dtype=np.float32)
        if style.ndim == 3:  # the [510, 1, 256] layout of Kokoro's .npz packs
            style = style.reshape(style.shape[0], style.shape[-1])
        if style.shape[-1] != STYLE_DIM or style.ndim not in (1, 2):
            raise ValueError(f"a style must be [N, {STYLE_DIM}] or [{STYLE_DIM}], got {style.shape}")
        self.style = style

    def style_for(self, token_count: int) -> np.ndarray:
        """The style row Kokoro uses for an input of ``token_count`` phoneme tokens, as [1, 256]."""
        if self.style.ndim == 1:
            return self.style.reshape(1, STYLE_DIM)
        row = min(max(token_count, 1), self.style.shape[0]) - 1
        return self.style[row].reshape(1, STYLE_DIM)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        header = {"version": _FORMAT_VERSION, "engine": self.engine,
                  "pitch_semitones": self.pitch_semitones, "metadata": self.metadata}
        np.savez(buffer, style=self.style, header=np.frombuffer(json.dumps(header).encode(), np.uint8))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> VoiceProfile:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(archive["header"].tobytes().decode())
            style = archive["style"]
        if header.get("version") != _FORMAT_VERSION:
            raise ValueError(f"unknown voice profile format version {header.get('version')}")
        return cls(engine=header["engine"], style=style, pitch_semitones=float(header["pitch_semitones"]),
                   metadata=header.get("metadata", {}))
