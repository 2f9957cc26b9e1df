"""Enrollment benchmark (its own process, like its own worker queue): prints one JSON object.

    taskset -c 0,1 .venv/bin/python bench/enrollment.py [--budget 300]

Voice enrollment against the Piper "joe" voice standing in for an owner: 4 enrollment
sentences, 6 held-out ones. Reports the held-out Resemblyzer similarity (enrolled vs every stock
pack), plus measures the search's Resemblyzer objective cannot game: F0 median / range distance,
MFCC spectral-envelope distance, and intelligibility (word error rate of whisper-base on the
held-out text); the enrollment time and evaluations, and the process's peak RSS right after
enrollment (what an enrollment worker needs) and at the end (after synthesis and whisper).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

import numpy as np  # noqa: E402


def bench_enrollment(budget_s: float) -> dict:
    from consent.speaker import embed_speaker, mean_embedding, speaker_similarity
    from synthesis.engines import get_engine
    from synthesis.engines.kokoro import stock_profile
    from synthesis.enrollment import (enroll_voice, f0_statistics, mfcc_mean, semitones_between,
                                      spectral_distance)
    from synthesis.frontend import prepare_text
    from tests.speech import SENTENCES, speech

    rate = 22050
    enrollment = [(speech(s, "piper", rate), rate) for s in SENTENCES[:4]]
    held_out_audio = [speech(s, "piper", rate) for s in SENTENCES[6:12]]
    held_out = mean_embedding([embed_speaker(a, rate) for a in held_out_audio])
    joined = np.concatenate(held_out_audio)
    ref_f0, ref_range = f0_statistics(joined, rate)
    ref_mfcc = mfcc_mean(joined, rate)

    started = time.perf_counter()
    result = enroll_voice(enrollment, budget_s=budget_s, seed=0)
    enroll_s = time.perf_counter() - started
    enroll_peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    engine = get_engine("kokoro")
    text = " ".join(SENTENCES[6:9])  # same text as part of the held-out set
    units = prepare_text(text, "en")

    def measure(profile, intelligibility: bool = False) -> dict:
        audio = np.concatenate([c.samples for c in engine.synthesize(units, profile)])
        f0, spread = f0_statistics(audio, engine.sample_rate)
        row = {"similarity": round(speaker_similarity(embed_speaker(audio, engine.sample_rate), held_out), 4),
               "f0_median_distance_st": round(abs(semitones_between(f0, ref_f0)), 2),
               "f0_range_distance_st": round(abs(spread - ref_range), 2),
               "mfcc_distance": round(spectral_distance(mfcc_mean(audio, engine.sample_rate), ref_mfcc), 2)}
        if intelligibility:
            row["word_error_rate"] = word_error_rate(text, audio, engine.sample_rate)
        return row

    stock = {name: measure(stock_profile(name)) for name in ("jf_alpha", "jf_gongitsune", "jf_nezumi",
                                                             "jf_tebukuro", "jm_kumo")}
    best = max(stock, key=lambda n: stock[n]["similarity"])
    stock[best] = measure(stock_profile(best), intelligibility=True)
    timbre = [h for h in result.history if h["step"].startswith("gradient-") and "check_score" in h]
    return {"budget_s": budget_s, "elapsed_s": round(enroll_s, 1), "evaluations": result.evaluations,
            "enrollment_peak_rss_mb": enroll_peak,
            "peak_rss_mb_by_phase": {h["step"]: h["peak_rss_mb"] for h in result.history if "peak_rss_mb" in h}, "gradient_steps": int(timbre[-1]["step"].split("-")[1]) if timbre else 0,
            "calibration_similarity_before": round(result.similarity_before, 4),
            "calibration_similarity_after": round(result.similarity_after, 4),
            "pitch_semitones": round(result.profile.pitch_semitones, 2),
            "held_out_enrolled": measure(result.profile, intelligibility=True), "held_out_best_stock": {"voice": best, **stock[best]},
            "held_out_stock_all": stock, "target_similarity": 0.70}



def word_error_rate(text: str, audio: np.ndarray, rate: int) -> float | None:
    """whisper-base's word error rate on ``audio`` against ``text`` (None without the recogniser)."""
    import re

    from consent.verification import recogniser_available, transcribe

    if not recogniser_available("en"):
        return None
    words = lambda s: re.sub(r"[^a-z0-9' ]+", " ", s.lower()).split()  # noqa: E731
    expected, heard = words(text), words(transcribe((audio, rate), "en"))
    # word-level Levenshtein distance (a few lines; jiwer is not a dependency)
    row = list(range(len(heard) + 1))
    for i, word in enumerate(expected, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return round(row[-1] / max(len(expected), 1), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=300.0)
    args = parser.parse_args()
    report = {"cpu_affinity": len(os.sched_getaffinity(0)), "load_average_1m": os.getloadavg()[0],
              "enrollment": bench_enrollment(args.budget)}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["load_average_1m_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
