"""Seconds to check a 10 s reference and to verify a 10 s consent statement on this machine. Prints JSON.

    .venv/bin/python bench/consent.py

Speech is the Piper joe voice (tests/speech.py). Model loading (Silero VAD, Resemblyzer,
Whisper base) is timed separately; the checks are then timed as the service runs them:
quality check of the reference; quality check + speaker/copy comparison + transcript check of
the statement. torch and onnxruntime use 2 threads.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

RATE = 16000


def ten_seconds(texts: tuple[str, ...]) -> np.ndarray:
    from tests.speech import speech

    samples = np.concatenate([speech(text, voice="piper", sample_rate=RATE) * 0.5 for text in texts])
    return np.pad(samples, (0, max(0, 10 * RATE - samples.size)))[: 10 * RATE]


def main() -> None:
    torch.set_num_threads(2)
    from consent import quality, vad, verification
    from consent.speaker import _encoder
    from tests.speech import SENTENCES

    reference = ten_seconds(SENTENCES[0:2])
    statement = ten_seconds(SENTENCES[2:4])
    expected = " ".join(SENTENCES[2:4])

    started = time.perf_counter()
    vad._model()
    _encoder()
    load_vad_speaker = time.perf_counter() - started
    started = time.perf_counter()
    has_asr = verification._recogniser() is not None
    load_asr = time.perf_counter() - started

    def timed(action, repeats=3):
        action()  # warm-up: first-call allocations are not part of steady state
        runs = []
        for _ in range(repeats):
            begun = time.perf_counter()
            result = action()
            runs.append(time.perf_counter() - begun)
        return round(min(runs), 3), result

    reference_s, report = timed(lambda: quality.check_recording(reference, RATE, kind="reference"))
    statement_quality_s, _ = timed(lambda: quality.check_recording(statement, RATE, kind="statement"))
    compare_s, comparison = timed(lambda: verification.compare_statement((statement, RATE), [(reference, RATE)]))
    transcript_s, transcript = (timed(lambda: verification.transcript_matches((statement, RATE), expected, "en"))
                                if has_asr else (None, None))
    print(json.dumps({
        "machine": f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}",
        "model_load_s": {"vad_and_speaker_encoder": round(load_vad_speaker, 2), "whisper_base": round(load_asr, 2)},
        "check_10s_reference_s": reference_s,
        "verify_10s_statement_s": {
            "quality_check": statement_quality_s, "speaker_and_copy": compare_s, "transcript": transcript_s,
            "total": round(statement_quality_s + compare_s + (transcript_s or 0), 3)},
        "reference_passed": report.passed,
        "statement_similarity": comparison.speaker_similarity,
        "transcript_similarity": transcript.similarity if transcript else None,
    }, indent=2))


if __name__ == "__main__":
    main()
