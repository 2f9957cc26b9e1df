"""The detector's third front end: the hidden states of a learned speech-quality model.

DistillMOS (Stahl and Gamper, ICASSP 2025; PyPI ``distillmos`` 0.9.1, MIT, 17 MB of weights in
the wheel) predicts the mean opinion score of a clip. It was distilled from an XLS-R (self-
supervised wav2vec 2.0) quality model into a small network that reads the *complex* short-time
spectrum (20 ms Hann window, hop 10 ms, magnitude compressed to the power 0.3, phase kept) with a
six-layer CNN and a seven-layer transformer (width 200) over 7.68 s segments. Its states were
trained to notice what makes speech sound degraded or unnatural, phase included, and neither of
the other front ends has that: Whisper's encoder reads a log-mel power spectrogram (no phase) and
was trained to ignore how speech was produced; ``artifacts.py`` is hand-made.

Per 20 ms frame, the output of each of the seven transformer layers is kept (front end
``quality``), and so is the CNN's output (256 channels x 4 frequency bands, front end ``cnn``:
the model's low-level view of the spectrum before the transformer mixes 7.68 s together); each is
summed per half second (25 frames) as totals, squares and counts (``artifacts.HalfSums``), so
one-second windows (hop 0.5 s) combine exactly like the other front ends'. A clip is cut into 7.68 s segments (the
model's positional encoding covers exactly that); the last segment is shifted back to end at the
clip's end instead of being padded with silence, and a clip shorter than one segment is zero-
padded as DistillMOS itself does (which is also what the training corpus's clips, 2-6 s, always
get). The audio is peak-normalised as the model expects, once per clip, and the CNN (most of the
cost: about 0.3 GMAC per second of audio) runs once over the clip, not once per segment.

Loading: ``distillmos/sqa.py`` imports ``torchaudio`` at module level for its command line only, and
no torchaudio build loads against this project's CPU torch; a placeholder module stands in while
it is imported and is removed again (so nothing else sees a fake ``torchaudio``).
"""
from __future__ import annotations

import contextlib
import io
import sys
import types

import numpy as np

from voicegate.loading import load_once

from .artifacts import HalfSums, pool_halves

RATE = 16000
SEGMENT = 122880  # samples the model reads at once (7.68 s; its positional encoding's length)
FRAME = 320  # samples per transformer frame (20 ms)
SEGMENT_FRAMES = SEGMENT // FRAME  # 384
HALF_FRAMES = 25  # frames per half second
LAYERS = 7
WIDTH_PER_LAYER = 200
WIDTH = LAYERS * WIDTH_PER_LAYER
VERSION = "quality-1"
CNN_WIDTH = 1024
CNN_VERSION = "quality-cnn-1"  # the CNN outputs' statistics (analyse(cnn=True)), a front end of their own
BATCH = 4  # segments per transformer pass
BF16_WHERE_NATIVE = True  # see bfloat16()
MARGIN = 4096  # samples of silence the CNN reads past the audio (its reach is about 1,200 each way)


def import_distillmos():
    """The ``distillmos`` module (see the module docstring for the ``torchaudio`` placeholder)."""
    if "distillmos" in sys.modules:
        return sys.modules["distillmos"]
    placeholder = None
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        placeholder = types.ModuleType("torchaudio")
        sys.modules["torchaudio"] = placeholder
    try:
        import distillmos
    finally:
        if placeholder is not None and sys.modules.get("torchaudio") is placeholder:
            del sys.modules["torchaudio"]
    return distillmos


@load_once
def model():
    """DistillMOS in eval mode, with its shipped weights."""
    distillmos = import_distillmos()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints where it loaded the weights from
        net = distillmos.ConvTransformerSQAModel()
    return net.eval()


def _segments(n: int) -> list[tuple[int, int]]:
    """(segment start sample, first frame of it to keep) covering ``n`` samples."""
    if n <= SEGMENT:
        return [(0, 0)]
    starts = list(range(0, n - SEGMENT + 1, SEGMENT))
    if starts[-1] + SEGMENT < n:  # the rest: a segment ending with the clip (at most a frame padded)
        starts.append(-(-(n - SEGMENT) // FRAME) * FRAME)
    plan = [(starts[0], 0)]
    for previous, start in zip(starts, starts[1:]):
        plan.append((start, (previous + SEGMENT - start) // FRAME))
    return plan


@load_once
def bfloat16() -> bool:
    """Whether the CNN runs in bfloat16: where the CPU computes it natively (oneDNN says so: AVX-512
    or newer). It halves the CNN's time, and moves a clip's logit by at most about 0.03 (measured
    on 34 corpus clips whose logits spread 4.8; tests/safety: the same clip both ways)."""
    import torch

    return bool(BF16_WHERE_NATIVE and torch.backends.mkldnn.is_available()
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _cnn(audio):
    """The CNN over a [1, samples] tensor of audio -> [frames, 1024] float32."""
    import torch

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16()):
        return model().cnn(audio)[0].T.float()


@load_once
def _silent_segment_features():
    """The CNN's output [384, 1024] for a silent segment: what zero padding contributes, computed once."""
    import torch

    return _cnn(torch.zeros(1, SEGMENT)).clone()


def _cnn_frames(x):
    """CNN features [frames, 1024] of peak-normalised audio zero-padded to at least one segment.

    The CNN only looks about 1,200 samples either way, so it runs on the audio plus MARGIN samples
    of silence, and the frames past that are those of a silent segment (computed once): the same
    numbers as running it on the padded segment, for the cost of the audio alone.
    """
    import torch

    n = x.size
    length = max(SEGMENT, -(-n // FRAME) * FRAME)
    run = min(length, -(-(n + MARGIN) // FRAME) * FRAME)
    out = _cnn(torch.from_numpy(np.pad(x, (0, run - n)))[None])  # [run // FRAME, 1024]
    if run == length:
        return out
    keep = (n + MARGIN // 2) // FRAME
    return torch.cat([out[:keep], _silent_segment_features()[keep:length // FRAME]])


def _normalised(samples16k: np.ndarray) -> np.ndarray:
    x = np.asarray(samples16k, dtype=np.float32)
    return x / (np.abs(x).max(initial=0.0) + 1e-8)  # as the model normalises its input (whole clip: one gain)


def _transformer_states(features, n: int) -> np.ndarray:
    """Every transformer layer's output [frames, 1400] over the CNN features of ``n`` samples."""
    import torch

    plan = _segments(n)
    net = model()
    transformer = net.transformer_pool_attn.transformer
    kept: list[np.ndarray] = []
    with torch.inference_mode():
        for i in range(0, len(plan), BATCH):
            part = plan[i:i + BATCH]
            batch = torch.stack([features[start // FRAME:start // FRAME + SEGMENT_FRAMES] for start, _ in part])
            h = net.transformer_pool_attn.norm_input(batch.transpose(-1, -2)).transpose(-1, -2)
            h = transformer.norm(h.transpose(-1, -2)).transpose(-1, -2)
            h = transformer.position_encoding(transformer.linear_proj(h))
            layers = []
            for layer in transformer.transformer_encoder.layers:
                h = layer(h)
                layers.append(h)
            states = torch.cat(layers, dim=-1).numpy()  # [segments, 384, 1400]
            kept.extend(seg[skip:] for (_, skip), seg in zip(part, states))
    return np.concatenate(kept)[: max(1, int(np.ceil(n / FRAME)))].astype(np.float32)


def frame_states(samples16k: np.ndarray) -> np.ndarray:
    """[frames, LAYERS * 200] float32: every transformer layer's output per 20 ms frame."""
    x = _normalised(samples16k)
    return _transformer_states(_cnn_frames(x), x.size)


def _pooled(values: np.ndarray, n: int) -> HalfSums:
    """Per-frame values (20 ms) of ``n`` samples summed per half second (one row per started half
    second, like the other front ends); frames past the audio (the padding) do not count."""
    active = np.zeros(values.shape[0])
    active[: int(np.ceil(n / FRAME))] = 1
    return pool_halves(values, active, max(1, int(np.ceil(n / (HALF_FRAMES * FRAME)))), HALF_FRAMES)


def analyse(samples16k: np.ndarray, *, states: bool = True, cnn: bool = False
            ) -> tuple[HalfSums | None, HalfSums | None]:
    """(transformer states, CNN outputs) summed per half second, each only if asked; one CNN pass.

    The CNN's outputs (``CNN_WIDTH`` = 256 channels x 4 frequency bands per 20 ms frame) are the
    model's low-level view of the complex spectrum, before the transformer mixes 7.68 s together.
    """
    x = _normalised(samples16k)
    features = _cnn_frames(x)
    state_sums = _pooled(_transformer_states(features, x.size), x.size) if states else None
    cnn_sums = _pooled(features.numpy(), x.size) if cnn else None
    return state_sums, cnn_sums
