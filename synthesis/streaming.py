"""Ogg Opus for HTTP streaming: marked PCM pieces in, Ogg pages out as each piece is encoded.

libsndfile (through soundfile) writes Ogg Opus to any file-like object and emits pages while
it encodes, so one piece (a sentence) comes out as soon as it is written, less at most one
partly filled page (~1 s) that leaves with the next piece. No ffmpeg process to feed and drain
concurrently. The samples encoded are the marked samples ``pipeline.render_marked`` yields (the
watermark survives Opus, docs/watermark.md). The header pages carry the same AI label fields as
a stored Ogg output (watermark.labels, written by mutagen into the OpusTags packet); Ogg cannot
carry a C2PA manifest, which the stored output's manifest field says.
"""
from __future__ import annotations

import io
from typing import Iterable, Iterator

import numpy as np
import soundfile as sf

OGG_HEADER_PAGES = 2  # OpusHead, OpusTags


class _Sink:
    """A write-only file for libsndfile: keeps what was written until it is taken."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._written = 0

    def write(self, data) -> int:
        self._pending += bytes(data)
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # libsndfile asks for the current position and the end (both the same here) before
        # writing; an Ogg writer never goes back.
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._written + offset, io.SEEK_END: self._written + offset}[whence]
        if target != self._written:
            raise io.UnsupportedOperation("a stream cannot seek back")
        return self._written

    def read(self, size: int = -1) -> bytes:
        return b""

    def take(self) -> bytes:
        data, self._pending = bytes(self._pending), bytearray()
        return data


def _labelled_header(data: bytes, label) -> bytes:
    """``data`` starts with the two Ogg Opus header pages: write the AI label into OpusTags."""
    from mutagen.ogg import OggPage

    from watermark.labels import write_labels

    stream = io.BytesIO(data)
    for _ in range(OGG_HEADER_PAGES):
        OggPage(stream)
    header_end = stream.tell()
    labelled = write_labels(data[:header_end], "ogg", label)
    check = io.BytesIO(labelled)
    for _ in range(OGG_HEADER_PAGES):
        OggPage(check)
    if check.tell() != len(labelled):  # later pages are numbered after exactly two header pages
        raise RuntimeError("the labelled Ogg header no longer fits its two pages")
    return labelled + data[header_end:]


def ogg_opus_stream(pieces: Iterable[np.ndarray], sample_rate: int, label) -> Iterator[bytes]:
    """Encode float mono ``pieces`` to Ogg Opus, yielding bytes after each piece (and at the end)."""
    sink = _Sink()
    header_done = False
    with sf.SoundFile(sink, mode="w", samplerate=sample_rate, channels=1, format="OGG", subtype="OPUS") as out:
        for piece in pieces:
            out.write(np.asarray(piece, dtype=np.float32))
            data = sink.take()
            if data and not header_done:
                data, header_done = _labelled_header(data, label), True
            if data:
                yield data
    tail = sink.take()
    if tail and not header_done:
        tail = _labelled_header(tail, label)
    if tail:
        yield tail


def stream_label(generation_id: str, watermark_payload: bytes, voice: str | None = None):
    """The AI label a stored output of this generation carries (watermark.services.ai_label);
    ``voice`` is what it says about the voice (a stock voice's "stock voice af_heart")."""
    from watermark.services import ProvenanceInfo, ai_label

    return ai_label(ProvenanceInfo(generation_id=generation_id, consent_sha256="",
                                   watermark_payload=watermark_payload.hex(), voice=voice))
