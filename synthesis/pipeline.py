"""The provenance-aware synthesis pipeline: text in, marked and labelled audio out.

    check_request(request)            -> resolved language    (cheap; run while answering the API call)
    plan_synthesis(request)           -> SynthesisPlan        (front end + instruction -> engine units/options)
    render_marked(plan, profile, payload, ...) -> iterator of marked PCM pieces, sentence by sentence
    package_output(samples, sr, fmt, info)     -> PackagedOutput (encoded, labelled, C2PA-signed bytes)

Every output, batch and streamed, goes through ``render_marked``: each sentence is marked with
the generation's 32-bit payload by a streaming embedder on one global tile grid, so the saved
file and the streamed bytes are the same marked samples and any excerpt decodes. There is no
other path from the engine to a caller. No Django models here: the job layer
(synthesis.services) owns state, storage and audit.
"""
from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicegate.audio import OUTPUT_FORMATS, encode_audio, resample
from voicegate.errors import DomainError

from synthesis.engines import get_engine, language_info
from synthesis.engines.base import LanguageInfo, SynthesisOptions, TextUnit
from synthesis.frontend import MAX_CHARACTERS_PER_JOB, TextTooLong, assert_speakable, prepare_text, resolve_language
from synthesis.instructions import InstructionEffect, apply_instruction, parse_instruction
from synthesis.profile import VoiceProfile

OUTPUT_SAMPLE_RATE = 24000  # every output is 24 kHz whatever the engine's native rate
REQUEST_FORMATS = ("wav", "mp3", "ogg", "flac")  # what the API offers (m4a is encodable but unlabelled here)
PROVIDER = "voicegate"

assert set(REQUEST_FORMATS) <= set(OUTPUT_FORMATS)


class UnsupportedFormat(DomainError):
    code = "unsupported_format"


@dataclass(frozen=True)
class SynthesisRequest:
    text: str
    language: str = "auto"
    instruct: str = ""
    speed: float = 1.0
    use: str = "narration"
    output_format: str = "wav"
    audible_label: bool = False
    default_language: str = "en"  # what ``auto`` falls back to (a stock voice's own language)


@dataclass(frozen=True)
class SynthesisPlan:
    request: SynthesisRequest
    language: str
    info: LanguageInfo
    units: list[TextUnit]
    options: SynthesisOptions
    instruction: InstructionEffect

    @property
    def engine_name(self) -> str:
        return self.info.engine

    def describe_options(self) -> dict[str, Any]:
        """Resolved controls, for the generation record and the audit log (no text)."""
        o = self.options
        return {"speed": round(o.speed, 3), "volume_db": round(o.volume_db, 2),
                "pitch_semitones": round(o.pitch_semitones, 2), "energy": round(o.energy, 3),
                "pause_scale": round(o.pause_scale, 3), "style": o.style,
                "instructions_matched": list(self.instruction.matched), "units": len(self.units),
                "engine": self.info.engine, "tier": self.info.tier}


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_format(fmt: str) -> str:
    value = (fmt or "wav").strip().lower()
    if value not in REQUEST_FORMATS:
        raise UnsupportedFormat(f"format {fmt!r} is not offered; choose one of: {', '.join(REQUEST_FORMATS)}")
    return value


def check_request(request: SynthesisRequest) -> str:
    """Refuse what can be refused without running the front end; returns the resolved language.

    Cheap enough to run while answering the API request, so bad input gets a 4xx at once
    rather than a failed job later.
    """
    if len(request.text) > MAX_CHARACTERS_PER_JOB:
        raise TextTooLong(f"the text has {len(request.text):,} characters; at most {MAX_CHARACTERS_PER_JOB:,} "
                          "can be synthesized in one job: split it into several jobs",
                          details={"characters": len(request.text), "limit": MAX_CHARACTERS_PER_JOB})
    assert_speakable(request.text)
    check_format(request.output_format)
    SynthesisOptions(speed=request.speed)  # raises InvalidSynthesisOption with the allowed range
    language = resolve_language(request.text, request.language, request.default_language)
    parse_instruction(request.instruct, language)  # raises UnsupportedInstruction naming what works
    return language


def plan_synthesis(request: SynthesisRequest) -> SynthesisPlan:
    """Front end + instruction parse: everything the engine needs, or a DomainError saying why not."""
    language = check_request(request)
    units = prepare_text(request.text, language)
    effect = parse_instruction(request.instruct, language)
    options = apply_instruction(SynthesisOptions(speed=request.speed), effect)
    return SynthesisPlan(request, language, language_info(language), units, options, effect)


# --------------------------------------------------------------------------- provenance
def streaming_marker(sample_rate: int, payload: bytes):
    """The configured watermark engine's chunk-by-chunk marker (push/flush)."""
    from watermark.services import streaming_marker as make_marker

    return make_marker(sample_rate, payload)


def audible_disclosure(sample_rate: int, language: str) -> np.ndarray:
    """The short 'AI-generated' / 'AI生成' cue (tones + spoken words) prepended when the audible label is on."""
    from watermark.labels import audible_disclosure as make_cue

    return np.asarray(make_cue(sample_rate, language, spoken=True), dtype=np.float32)


@dataclass
class RenderProgress:
    units_done: int
    units_total: int

    @property
    def fraction(self) -> float:
        return self.units_done / max(self.units_total, 1)


def render_marked(plan: SynthesisPlan, profile: VoiceProfile | None, payload: bytes, *,
                  audible_label: bool = False,
                  on_progress: Callable[[RenderProgress], None] | None = None) -> Iterator[np.ndarray]:
    """Synthesize sentence by sentence and yield watermarked 24 kHz PCM pieces as they are ready.

    The engine is lazy (unit i+1 is synthesized only when asked for), so a caller streaming
    these pieces plays the first sentence while the rest is still being made. ``on_progress``
    runs after each sentence and may raise to stop (cancellation).
    """
    engine = get_engine(plan.engine_name)
    marker = streaming_marker(OUTPUT_SAMPLE_RATE, payload)
    if audible_label:
        cue = marker.push(audible_disclosure(OUTPUT_SAMPLE_RATE, plan.language))
        if cue.size:
            yield cue
    total = len(plan.units)
    for chunk in engine.synthesize(plan.units, profile, plan.options):
        samples = resample(chunk.samples, chunk.sample_rate, OUTPUT_SAMPLE_RATE)
        marked = marker.push(samples)
        if on_progress is not None:
            on_progress(RenderProgress(chunk.unit_index + 1, total))
        if marked.size:
            yield marked
    tail = marker.flush()
    if tail.size:
        yield tail


# --------------------------------------------------------------------------- packaging
@dataclass(frozen=True)
class PackagedOutput:
    data: bytes
    fmt: str
    duration_s: float
    sample_rate: int
    labels: dict[str, Any]
    manifest: dict[str, Any]


def package_output(samples: np.ndarray, sample_rate: int, fmt: str, *, generation_id: str,
                   consent_sha256: str | None, watermark_payload: bytes, voice: str | None = None,
                   extra: dict[str, Any] | None = None) -> PackagedOutput:
    """Encode, then write the AI labels and sign the C2PA manifest (watermark.services.label_and_sign).

    The manifest summary says ``signed: false`` (and why) when no signing certificate is
    configured or the format cannot carry C2PA (Ogg); the labels are written in every format.
    ``consent_sha256`` None and ``voice`` ("stock voice af_heart"): an output in a stock voice,
    whose labels and manifest name the voice and carry no consent reference.
    """
    from watermark.manifest import MANIFEST_FORMATS
    from watermark.services import ProvenanceInfo, label_and_sign

    fmt = check_format(fmt)
    encoded = encode_audio(samples, sample_rate, fmt)
    labelled = label_and_sign(encoded, fmt, ProvenanceInfo(generation_id=generation_id, consent_sha256=consent_sha256,
                                                           watermark_payload=watermark_payload.hex(), voice=voice,
                                                           extra=dict(extra or {})))
    if labelled.manifest is not None:
        manifest = {"signed": True, **labelled.manifest}
    elif fmt not in MANIFEST_FORMATS:
        manifest = {"signed": False, "reason": f"C2PA manifests cannot be embedded in {fmt} files"}
    else:
        manifest = {"signed": False, "reason": "no signing certificate configured (PROVENANCE_CERT_CHAIN)"}
    return PackagedOutput(labelled.data, fmt, samples.size / sample_rate, sample_rate, dict(labelled.labels), manifest)


# --------------------------------------------------------------------------- streamed WAV
STREAM_SIZE_UNKNOWN = 0xFFFFFFFF


def streaming_wav_header(sample_rate: int, *, comment: str = "") -> bytes:
    """A 16-bit mono RIFF/WAVE header whose sizes say 'unknown' (0xFFFFFFFF), for HTTP streaming.

    Browsers, ffmpeg and sox play such a stream as it arrives. An INFO list before the data
    carries the AI label (ICMT/ISFT), so even the streamed bytes say what they are.
    """
    info = b""
    if comment:
        def sub(tag: bytes, text: str) -> bytes:
            raw = text.encode("utf-8") + b"\0"
            if len(raw) % 2:
                raw += b"\0"
            return tag + struct.pack("<I", len(raw)) + raw

        body = b"INFO" + sub(b"ICMT", comment) + sub(b"ISFT", PROVIDER)
        info = b"LIST" + struct.pack("<I", len(body)) + body
    fmt_chunk = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", STREAM_SIZE_UNKNOWN) + b"WAVE" + fmt_chunk + info
            + b"data" + struct.pack("<I", STREAM_SIZE_UNKNOWN))


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def read_streamed_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Decode a streamed WAV (unknown sizes) back to float samples: used by tests and clients."""
    stream = io.BytesIO(data)
    if stream.read(4) != b"RIFF":
        raise ValueError("not a RIFF stream")
    stream.read(4)
    if stream.read(4) != b"WAVE":
        raise ValueError("not a WAVE stream")
    sample_rate = 0
    while True:
        header = stream.read(8)
        if len(header) < 8:
            raise ValueError("no data chunk")
        tag, size = header[:4], struct.unpack("<I", header[4:])[0]
        if tag == b"fmt ":
            fields = struct.unpack("<HHIIHH", stream.read(16))
            sample_rate = fields[2]
            stream.read(size - 16)
        elif tag == b"data":
            raw = stream.read()
            raw = raw[: len(raw) - len(raw) % 2]
            return np.frombuffer(raw, "<i2").astype(np.float32) / 32767.0, sample_rate
        else:
            stream.read(size + size % 2)
