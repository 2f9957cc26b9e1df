"""Benchmark of the synthetic-speech detector; prints one JSON object.

    .venv/bin/python bench/detector.py              # speed, size, memory + the committed model's evaluation
    .venv/bin/python bench/detector.py --retrain    # rebuild corpus/features if needed, retrain, re-evaluate

- seconds to score a 10 s clip (median of 5, after one warm-up), with torch on 2 threads and on 1;
- the weights file's size, and the process's peak RSS after loading and scoring;
- the evaluation that ``python -m safety.detector.train`` writes beside the weights
  (``safety/detector/weights/evaluation.json``): leave-one-generator-out equal error rates and miss
  rates at the operating threshold for every generator family, clean, after MP3 64k and Opus 32k
  re-encoding and on 3 s crops; the share of human clips from held-out sources that are flagged.
  ``--retrain`` reruns that training first (about an hour on 2 cores the first time, minutes with
  the feature cache).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def _timings(clip, rate, threads: int) -> dict:
    import torch

    from safety.detector import detect_synthetic

    torch.set_num_threads(threads)
    detect_synthetic(clip, rate)  # warm-up: loads the encoder and VAD
    times = []
    for _ in range(5):
        started = time.perf_counter()
        detect_synthetic(clip, rate)
        times.append(time.perf_counter() - started)
    return {"threads": threads, "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    if args.retrain:
        subprocess.run([sys.executable, "-m", "safety.detector.train"], cwd=ROOT, check=True)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
    import django

    django.setup()
    import numpy as np

    from safety.detector import WEIGHTS, load_model
    from tests.speech import SENTENCES, speech

    rate = 16000
    clip = np.concatenate([speech(text, "piper", rate) for text in SENTENCES[:3]])[: 10 * rate]
    started = time.perf_counter()
    load_model()
    from voicegate import whisper

    whisper.encoder()
    load_s = time.perf_counter() - started
    result = {
        "clip_seconds": round(clip.size / rate, 2),
        "model_load_s": round(load_s, 2),
        "score_10s_clip": [_timings(clip, rate, 2), _timings(clip, rate, 1)],
        "weights_bytes": WEIGHTS.stat().st_size,
        "encoder_parameters": sum(p.numel() for p in whisper.encoder().parameters()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    evaluation = WEIGHTS.with_name("evaluation.json")
    if evaluation.exists():
        result["evaluation"] = json.loads(evaluation.read_text())
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
