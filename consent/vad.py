"""Speech / non-speech per frame with Silero VAD (ONNX weights ship inside the silero-vad package).

We run the package's "sequence" ONNX export through onnxruntime directly: it computes the same
per-frame probabilities as the streaming model in one call per ~16 s block instead of one Python
call per 32 ms frame, and it needs no torch, so a long recording costs milliseconds per minute.
"""
from __future__ import annotations

import threading
from importlib import resources

import numpy as np

from voicegate.audio import resample
from voicegate.loading import load_once

VAD_RATE = 16000
FRAME_SAMPLES = 512  # the model's fixed frame at 16 kHz
FRAME_SECONDS = FRAME_SAMPLES / VAD_RATE  # 0.032 s
SPEECH_THRESHOLD = 0.5  # Silero's own default decision threshold
_lock = threading.Lock()


@load_once
def _model():
    from silero_vad.sequence_vad import SileroVADSequence

    path = resources.files("silero_vad.data").joinpath("silero_vad_16k_sequence.onnx")
    return SileroVADSequence(str(path), sampling_rate=VAD_RATE)


def speech_probabilities(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Probability of speech for each 32 ms frame."""
    audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, VAD_RATE)
    if audio.size == 0:
        return np.zeros(0, dtype=np.float32)
    with _lock:  # one onnxruntime session shared by the process; its LSTM state is per call
        return _model().audio_forward(audio, sampling_rate=VAD_RATE).astype(np.float32)


def speech_frames(samples: np.ndarray, sample_rate: int, *,
                  threshold: float = SPEECH_THRESHOLD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame start times in seconds, is-speech mask, speech probabilities), one entry per 32 ms frame."""
    probabilities = speech_probabilities(samples, sample_rate)
    times = np.arange(probabilities.size, dtype=np.float64) * FRAME_SECONDS
    return times, probabilities >= threshold, probabilities


def speech_ratio(samples: np.ndarray, sample_rate: int, *, threshold: float = SPEECH_THRESHOLD) -> float:
    """Fraction of frames that hold speech (0 for empty input)."""
    _, is_speech, _ = speech_frames(samples, sample_rate, threshold=threshold)
    return float(is_speech.mean()) if is_speech.size else 0.0
