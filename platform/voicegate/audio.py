"""Decoding and encoding audio files, shared by every app (no Django models here).

soundfile (libsndfile) reads WAV, FLAC and Ogg Vorbis/Opus directly; everything else (MP3,
AAC/M4A, the audio track of video containers) goes through ffmpeg, which the platform
requires anyway for lossy output formats. All samples are float32 mono in [-1, 1].
"""
from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from voicegate.errors import DomainError, PayloadTooLarge, UnsupportedMedia


class AudioDecodeError(DomainError):
    code = "bad_audio"


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray
    sample_rate: int
    channels: int
    duration_s: float
    format: str
    # What the decoder reported about damage (a truncated file, bytes it had to skip), in words.
    # The audio above is what could be decoded; empty when the file decoded cleanly.
    problems: tuple[str, ...] = ()

    @property
    def damaged(self) -> bool:
        return bool(self.problems)


MIN_DECODED_SECONDS = 0.1  # less than this decoded from a file is "nothing" (a header, a stub)
# libsndfile's log lines that mean the file is damaged (its log also holds plain format details).
_DAMAGE_MARKERS = ("should be", "error", "illegal", "skipped", "resync", "lacks an end-of-stream", "junk",
                   "truncated", "unexpected end")


FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"
OUTPUT_FORMATS = ("wav", "flac", "mp3", "ogg", "m4a")
# (ffmpeg muxer, codec, default bitrate) for each output format.
_ENCODERS: dict[str, tuple[str, list[str]]] = {
    "wav": ("wav", ["-c:a", "pcm_s16le"]),
    "flac": ("flac", ["-c:a", "flac"]),
    "mp3": ("mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
    "ogg": ("ogg", ["-c:a", "libopus", "-b:a", "64k"]),
    "m4a": ("ipod", ["-c:a", "aac", "-b:a", "128k"]),
}
MIME_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "m4a": "audio/mp4"}


def _read_source(source: bytes | str | Path, max_bytes: int | None) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.exists():
            raise AudioDecodeError(f"file not found: {path}")
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise PayloadTooLarge(f"the file is {path.stat().st_size / 1e6:.1f} MB; at most "
                                  f"{max_bytes / 1e6:.0f} MB is accepted")
        data = path.read_bytes()
    if not data:
        raise AudioDecodeError("the file is empty")
    if max_bytes is not None and len(data) > max_bytes:
        raise PayloadTooLarge(f"the file is {len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB is accepted")
    return data


def to_mono(samples: np.ndarray) -> np.ndarray:
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _decode_soundfile(data: bytes, max_seconds: float | None) -> DecodedAudio | None:
    try:
        with sf.SoundFile(io.BytesIO(data)) as handle:
            if handle.frames <= 0:
                raise AudioDecodeError("the file holds no audio samples")
            duration = handle.frames / handle.samplerate
            _check_duration(duration, max_seconds)
            samples = handle.read(dtype="float32", always_2d=True)
            problems = [line.strip() for line in handle.extra_info.splitlines()
                        if any(marker in line.lower() for marker in _DAMAGE_MARKERS)]
            problems += _ends_early(samples.shape[0] / handle.samplerate, duration)
            return DecodedAudio(to_mono(samples), int(handle.samplerate), int(handle.channels),
                                samples.shape[0] / handle.samplerate, handle.format.lower(),
                                _summarise(problems))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None


def _ends_early(decoded_s: float, declared_s: float) -> list[str]:
    if math.isnan(declared_s) or declared_s - decoded_s <= max(0.05, 0.01 * declared_s):
        return []
    return [f"the file ends early: {decoded_s:.2f} s of the {declared_s:.2f} s its header declares could be decoded"]


def _summarise(problems: list[str], limit: int = 5) -> tuple[str, ...]:
    # ffmpeg prefixes its messages with "[decoder @ 0x55...]": the address means nothing to a reader.
    cleaned = (re.sub(r"^\[(\w+) @ 0x[0-9a-f]+\]\s*", r"\1: ", problem)[:200] for problem in problems)
    unique = list(dict.fromkeys(problem for problem in cleaned if problem))
    if len(unique) > limit:
        unique = unique[:limit] + [f"... and {len(unique) - limit} more decoder messages"]
    return tuple(unique)


def _check_duration(duration: float, max_seconds: float | None) -> None:
    if max_seconds is not None and duration > max_seconds:
        raise PayloadTooLarge(f"the audio is {_format_duration(duration)} long; at most "
                              f"{_format_duration(max_seconds)} is accepted")


def _format_duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds:.1f} s"


def _probe(path: str) -> tuple[int, int, float, str]:
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=sample_rate,channels:format=duration,format_name", "-of", "json", path],
        capture_output=True, text=True, timeout=30)
    info = json.loads(result.stdout or "{}")
    streams = info.get("streams") or []
    if result.returncode != 0 or not streams:
        raise UnsupportedMedia("this file is not audio we can read (supported: WAV, FLAC, MP3, M4A/AAC, "
                               "Ogg/Opus, and the audio track of common video files)")
    stream = streams[0]
    duration = float(info.get("format", {}).get("duration") or "nan")
    return (int(stream.get("sample_rate") or 0), int(stream.get("channels") or 1), duration,
            str(info.get("format", {}).get("format_name", "unknown")).split(",")[0])


def _decode_ffmpeg(data: bytes, max_seconds: float | None) -> DecodedAudio:
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(data)
        handle.flush()
        sample_rate, channels, duration, fmt = _probe(handle.name)
        if sample_rate <= 0:
            raise UnsupportedMedia("the file's audio stream has no sample rate")
        if not math.isnan(duration):
            _check_duration(duration, max_seconds)
        command = [FFMPEG, "-v", "error", "-nostdin", "-i", handle.name, "-map", "0:a:0", "-vn",
                   "-ac", "1", "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
        if max_seconds is not None:
            command[6:6] = ["-t", str(max_seconds + 1)]
        result = subprocess.run(command, capture_output=True, timeout=600)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        raise AudioDecodeError(f"the audio is corrupt or truncated and could not be decoded ({message[0]})")
    samples = np.frombuffer(result.stdout, dtype=np.float32).copy()
    if samples.size == 0:
        raise AudioDecodeError("the file holds no audio samples (it may be truncated)")
    _check_duration(samples.size / sample_rate, max_seconds)
    # With -v error, anything ffmpeg says on a successful run is a decoding error it skipped past.
    problems = [line.strip() for line in result.stderr.decode(errors="replace").splitlines()]
    if max_seconds is None or duration <= max_seconds:
        problems += _ends_early(samples.size / sample_rate, duration)
    return DecodedAudio(samples, sample_rate, channels, samples.size / sample_rate, fmt, _summarise(problems))


def decode_audio(source: bytes | str | Path, *, max_bytes: int | None = None,
                 max_seconds: float | None = None) -> DecodedAudio:
    """Decode any common audio (or video) file to float32 mono.

    Raises AudioDecodeError / UnsupportedMedia / PayloadTooLarge with a message a person can
    act on for empty, corrupt, non-audio, oversized or overlong input, or a file that decodes to
    under 0.1 s. A damaged file that still decodes (truncated, bytes skipped) is returned with
    what the decoder said in ``problems``, so callers can say the result covers only part of it.
    """
    data = _read_source(source, max_bytes)
    decoded = _decode_soundfile(data, max_seconds) or _decode_ffmpeg(data, max_seconds)
    if not np.all(np.isfinite(decoded.samples)):
        raise AudioDecodeError("the audio contains invalid (NaN or infinite) samples")
    if decoded.duration_s < MIN_DECODED_SECONDS:
        damage = f": {decoded.problems[0]}" if decoded.problems else ""
        raise AudioDecodeError(f"the file decodes to {decoded.duration_s * 1000:.0f} ms of audio, too little to use "
                               f"(it may be truncated{damage})")
    return decoded


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    if sr_from == sr_to:
        return np.asarray(samples, dtype=np.float32)
    ratio = Fraction(sr_to, sr_from).limit_denominator(1000)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: str = "wav", *, bitrate: str | None = None) -> bytes:
    """Encode float mono samples. WAV/FLAC through libsndfile, lossy formats through ffmpeg."""
    fmt = fmt.lower()
    if fmt not in _ENCODERS:
        raise DomainError(f"format {fmt!r} is not offered; choose one of: {', '.join(OUTPUT_FORMATS)}")
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    if fmt in ("wav", "flac") and bitrate is None:
        buffer = io.BytesIO()
        sf.write(buffer, clipped, sample_rate, format=fmt.upper(), subtype="PCM_16")
        return buffer.getvalue()
    muxer, codec = _ENCODERS[fmt]
    codec = list(codec)
    if bitrate and "-b:a" in codec:
        codec[codec.index("-b:a") + 1] = bitrate
    in_rate = sample_rate
    out_rate = ["-ar", "48000"] if fmt == "ogg" and sample_rate not in (8000, 12000, 16000, 24000, 48000) else []
    command = [FFMPEG, "-v", "error", "-nostdin", "-f", "f32le", "-ar", str(in_rate), "-ac", "1", "-i", "pipe:0",
               *codec, *out_rate, "-f", muxer, "pipe:1"]
    if muxer == "ipod":  # MP4 needs a seekable output
        with tempfile.NamedTemporaryFile(suffix=".m4a") as out:
            result = subprocess.run(command[:-1] + ["-y", out.name], input=clipped.tobytes(), capture_output=True,
                                    timeout=600)
            data = Path(out.name).read_bytes()
    else:
        result = subprocess.run(command, input=clipped.tobytes(), capture_output=True, timeout=600)
        data = result.stdout
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode {fmt}: {result.stderr.decode(errors='replace')[-300:]}")
    return data
