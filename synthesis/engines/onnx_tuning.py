"""Make the Kokoro int8 ONNX model cheaper to run on CPU, once, cached on disk.

The published model is dynamically quantised: every convolution is ``DynamicQuantizeLinear ->
ConvInteger -> (+ int32 bias) -> Cast -> Mul(scale)``. onnxruntime has no fast kernel for
ConvInteger (it profiles at over half of all run time on this machine), whereas its float Conv
goes through MLAS's blocked AVX2/AVX-512 path. So the convolutions' weights are dequantised
and the integer chain is replaced by one float ``Conv`` (with its float bias), which also drops
the activation quantisation error. Matrix products are left int8: onnxruntime fuses them into
a fast ``MatMulIntegerToFloat`` and they cost little.

Only the vocoder's convolutions (``HOT_SCOPES``: the iSTFTNet generator, which runs at 2,400 to
14,400 frames per sentence) are rewritten: they are over 60% of run time. The rest (text
encoder, prosody predictor, the decoder's AdaIN blocks at 40-80 frames per second) hold 170 MB
of the float weights but under 7% of the time, so they stay int8: the session is ~210 MB smaller
(loaded 458 MB vs 671 MB; the packaged model 330 MB) at the same speed.

Every 1-D convolution is then run as a 2-D one of height 1 (Unsqueeze -> Conv -> Squeeze):
onnxruntime's NCHWc layout transformer, whose direct convolution kernels are much faster than
the im2col + GEMM path 1-D convolutions take, only picks up 2-D convolutions. Measured
(docs/synthesis.md, Figures): engine RTF 0.31 -> 0.25 on an Intel AVX-512 VM; on an AMD CPU with
AVX-512 VNNI, whose int8 kernels are fast, about equal to the packaged model at 2 threads.

The rewrite needs the ``onnx`` package and takes a few seconds, so the result is written to the
model cache (``VOICEGATE_MODEL_CACHE``, default ``~/.cache/voicegate``), keyed by the source
file's size and mtime and this module's REWRITE_VERSION; later loads read it directly. When
several workers start at once, one builds it under a file lock (``filelock``, next to the file)
while the others wait for it, and the file appears by an atomic rename, whole or not at all.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_SETTING = "VOICEGATE_MODEL_CACHE"
HOT_SCOPES = ("/decoder/decoder/generator/",)  # node-name prefixes whose ConvInteger chains become float
LOCK_TIMEOUT_S = 600.0  # another process building the file takes ~5 s; past this, give up (caller falls back)
REWRITE_VERSION = 3  # bump when the rewrite changes so stale cached models are not reused


def model_cache_dir() -> Path:
    raw = os.environ.get(CACHE_SETTING, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "voicegate"


def cached_file(source: Path, family: str, version: int, suffix: str, build: Callable[[Path, Path], object],
                cache_dir: Path | None = None) -> Path:
    """A file derived from ``source`` (``build(source, path)`` writes it), built once into the
    model cache and reused while ``source`` and ``version`` stay the same.

    Workers starting together build it once: one holds a file lock next to it while the others
    wait, and the file appears by an atomic rename, whole or not at all. Files of the same
    family made by other versions or from an older source (100-250 MB each) are then deleted;
    processes that still have one open keep their copy (POSIX unlink).
    """
    from filelock import FileLock

    stat = source.stat()
    target = (cache_dir or model_cache_dir()) / (
        f"{source.stem}.{family}-v{version}-{stat.st_size}-{int(stat.st_mtime)}{suffix}")
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{target}.lock", timeout=LOCK_TIMEOUT_S):
        if not target.exists():  # another process may have built it while this one waited
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
            os.close(handle)
            try:
                build(source, Path(temporary))
                os.chmod(temporary, 0o644)
                os.replace(temporary, target)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
            _remove_stale(source, family, suffix, target)
    return target


def _remove_stale(source: Path, family: str, suffix: str, current: Path) -> None:
    # exactly this family's names: files derived from one of them (their names extend it) stay
    same_family = re.compile(rf"{re.escape(source.stem)}\.{re.escape(family)}-v\d+-\d+-\d+{re.escape(suffix)}")
    for stale in current.parent.iterdir():
        if stale != current and same_family.fullmatch(stale.name):
            for path in (stale, Path(f"{stale}.lock")):
                try:
                    path.unlink()
                except OSError:
                    pass


def tuned_model_path(source: Path, cache_dir: Path | None = None) -> Path:
    """The float-convolution version of ``source``, building and caching it on first use."""
    # through the module attribute, so a test can slow the build down to widen the race
    return cached_file(source, "conv2d", REWRITE_VERSION, ".onnx",
                       lambda src, path: write_float_conv_model(src, path), cache_dir)


def write_float_conv_model(source: Path, target: Path) -> int:
    """Rewrite ConvInteger chains as float Convs, 1-D Convs as 2-D; returns how many chains."""
    import onnx

    model = onnx.load(str(source))
    replaced = replace_conv_integer(model.graph, HOT_SCOPES)
    conv1d_as_2d(model.graph)
    prune_unused(model.graph)
    onnx.save(model, str(target))
    return replaced


def replace_conv_integer(graph, scopes: tuple[str, ...] | None = None) -> int:
    """In-place: ``DQL(x) -> ConvInteger(W_q) [-> Add(b_q)] -> Cast -> Mul(s)`` becomes
    ``Conv(x, W, b)`` writing the Mul's output, for ConvIntegers whose name contains one of
    ``scopes`` (all when None). Chains of any other shape are left alone."""
    from onnx import helper, numpy_helper

    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    initializers = {init.name: init for init in graph.initializer}
    added: dict[str, str] = {}  # quantised weight name -> float weight name (weights may be shared)

    def only_consumer(name: str, op_type: str):
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    def array(name: str) -> np.ndarray:
        return numpy_helper.to_array(initializers[name])

    def float_weight(weight: str, zero_point: str, scale: str) -> str:
        if weight not in added:
            values = (array(weight).astype(np.float32) - array(zero_point).astype(np.float32)) * array(scale)
            name = f"{weight}_float"
            graph.initializer.append(numpy_helper.from_array(values.astype(np.float32), name))
            added[weight] = name
        return added[weight]

    def float_bias(bias_add) -> str | None:
        # b_q = Cast(Floor(Div(bias, scale))) reshaped: the float bias is Div's first input.
        node = producer.get(next(i for i in bias_add.input if i != bias_add.input[0]))
        while node is not None and node.op_type in ("Reshape", "Cast", "Floor"):
            node = producer.get(node.input[0])
        if node is not None and node.op_type == "Div" and node.input[0] in initializers:
            return node.input[0]
        return None

    replaced = 0
    new_nodes = {}
    for conv in [n for n in graph.node if n.op_type == "ConvInteger"]:
        if scopes is not None and not any(scope in conv.name for scope in scopes):
            continue
        quantize = producer.get(conv.input[0])
        if quantize is None or quantize.op_type != "DynamicQuantizeLinear" or len(conv.input) < 4:
            continue
        weight, weight_zero = conv.input[1], conv.input[3]
        if weight not in initializers or weight_zero not in initializers:
            continue
        bias = None
        head = conv
        bias_add = only_consumer(conv.output[0], "Add")
        if bias_add is not None:
            bias = float_bias(bias_add)
            if bias is None:
                continue
            head = bias_add
        cast = only_consumer(head.output[0], "Cast")
        rescale = cast and only_consumer(cast.output[0], "Mul")
        if rescale is None:
            continue
        # The Mul's scale is Mul(x_scale, w_scale): the weight's scale is the one that is stored.
        scale_node = producer.get(next(i for i in rescale.input if i != cast.output[0]))
        weight_scale = scale_node and next((i for i in scale_node.input if i in initializers), None)
        if weight_scale is None or array(weight_scale).size != 1:
            continue
        inputs = [quantize.input[0], float_weight(weight, weight_zero, weight_scale)] + ([bias] if bias else [])
        attributes = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        new_nodes[id(rescale)] = helper.make_node("Conv", inputs, list(rescale.output),
                                                  name=f"{conv.name or rescale.output[0]}_float", **attributes)
        replaced += 1
    # Put each float Conv where its chain's last node was, so topological order still holds.
    rebuilt = [new_nodes.get(id(node), node) for node in graph.node]
    del graph.node[:]
    graph.node.extend(rebuilt)
    return replaced


def conv1d_as_2d(graph) -> int:
    """In-place: each Conv with a stored 3-D weight becomes Unsqueeze -> 2-D Conv -> Squeeze."""
    from onnx import helper, numpy_helper

    initializers = {init.name: init for init in graph.initializer}
    axis = "conv1d_as_2d_axis"
    graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), axis))
    widened: dict[str, str] = {}
    rebuilt, converted = [], 0
    for node in graph.node:
        weight = node.input[1] if node.op_type == "Conv" else None
        if weight is None or weight not in initializers or len(initializers[weight].dims) != 3:
            rebuilt.append(node)
            continue
        if weight not in widened:
            widened[weight] = f"{weight}_2d"
            values = numpy_helper.to_array(initializers[weight])[:, :, None, :]
            graph.initializer.append(numpy_helper.from_array(values, widened[weight]))
        rebuilt.extend(helper.make_node(*spec[:3], **spec[3]) for spec in _conv2d_nodes(node, widened[weight], axis))
        converted += 1
    del graph.node[:]
    graph.node.extend(rebuilt)
    return converted


def _conv2d_nodes(conv, weight_2d: str, axis: str) -> list[tuple[str, list[str], list[str], dict]]:
    from onnx import helper

    old = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    new: dict = {"group": old.get("group", 1)}
    for key in ("kernel_shape", "strides", "dilations"):
        if key in old:
            new[key] = [1, *old[key]]
    if "pads" in old:
        new["pads"] = [0, old["pads"][0], 0, old["pads"][1]]
    if old.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        new["auto_pad"] = old["auto_pad"]
    wide_in, wide_out = f"{conv.output[0]}_4d_in", f"{conv.output[0]}_4d_out"
    return [("Unsqueeze", [conv.input[0], axis], [wide_in], {}),
            ("Conv", [wide_in, weight_2d, *conv.input[2:]], [wide_out], {"name": f"{conv.name or conv.output[0]}_2d", **new}),
            ("Squeeze", [wide_out, axis], list(conv.output), {})]


def prune_unused(graph) -> None:
    """Drop nodes and initializers nothing reads any more (the orphaned quantisation chains)."""
    outputs = {out.name for out in graph.output}
    while True:
        used = outputs | {name for node in graph.node for name in node.input}
        keep = [node for node in graph.node if any(out in used for out in node.output)]
        if len(keep) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(keep)
    used = outputs | {name for node in graph.node for name in node.input}
    initializers = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
