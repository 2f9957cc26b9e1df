"""False detections of the watermark detector on unmarked speech from all 54 Kokoro stock voices.

    OMP_NUM_THREADS=1 .venv/bin/python bench/watermark_false_positives.py [--per-voice 3]

Each stock voice reads --per-voice sentences (its own language, the last in another; 1 in 5 as a
word list: safety.detector.corpus.kokoro_clips, seed 11); each clip is scored as is, after MP3 64k,
a 3 s excerpt, and after the speed/tempo/pitch changes whose searches carry the most hypotheses or
the lowest thresholds. Prints one JSON object: trials, detections (each should be 0: the bound is
1e-6 per clip), the highest z and the closest any trial came to its own threshold.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
import numpy as np  # noqa: E402
from safety.detector import corpus  # noqa: E402
from synthesis.voices import stock_packs  # noqa: E402
from tests.watermark.attacks import SEMITONE, WARP_ATTACKS, ffmpeg  # noqa: E402
from watermark import dsp  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--per-voice", type=int, default=3)
args = parser.parse_args()
sr = 16000
rng = np.random.default_rng(3)


def mp3(x):
    return ffmpeg(x, sr, ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3")


def ex3(x):
    start = int(rng.integers(0, max(1, x.size - 3 * sr)))
    return x[start:start + 3 * sr]


variants = {
    "none": lambda x: x, "mp3": mp3,
    "speed_0.95+mp3": lambda x: mp3(WARP_ATTACKS["speed"](x, sr, 0.95)),
    "rubberband_tempo_1.10+3s+mp3": lambda x: mp3(ex3(WARP_ATTACKS["rubberband_tempo"](x, sr, 1.10))),
    "atempo_0.90+3s+mp3": lambda x: mp3(ex3(WARP_ATTACKS["atempo"](x, sr, 0.90))),
    "rubberband_pitch_+1st+mp3": lambda x: mp3(WARP_ATTACKS["rubberband_pitch"](x, sr, SEMITONE)),
    "3s": ex3,
}
clips = corpus.kokoro_clips(stock_packs(), per_voice=args.per_voice, seed=11)
stats = {"clips": 0, "trials": 0, "detections": 0, "max_z": 0.0, "max_margin": -99.0, "by_variant": {}}
t0 = time.time()
for n, clip in enumerate(clips):
    x = clip.load().astype(np.float64)
    if x.size < 2 * sr:  # too short to hold one period of the mark
        continue
    stats["clips"] += 1
    for name, f in variants.items():
        y = np.asarray(f(x), np.float64)
        d = dsp.detect(y, sr)
        stats["trials"] += 1
        stats["detections"] += int(d.detected)
        stats["max_z"] = round(max(stats["max_z"], d.z_score), 2)
        stats["max_margin"] = round(max(stats["max_margin"], d.z_score - d.threshold_z), 2)
        v = stats["by_variant"].setdefault(name, {"trials": 0, "detections": 0, "max_z": 0.0, "max_margin": -99.0})
        v["trials"] += 1
        v["detections"] += int(d.detected)
        v["max_z"] = max(v["max_z"], round(d.z_score, 2))
        v["max_margin"] = max(v["max_margin"], round(d.z_score - d.threshold_z, 2))
    if n % 10 == 0:  # progress on stderr
        print(f"clip {n}/{len(clips)} {time.time() - t0:.0f} s: {stats['trials']} trials, {stats['detections']} "
              f"detections, max z {stats['max_z']:.2f}", file=sys.stderr, flush=True)
print(json.dumps(stats, indent=1))
