"""Benchmark of clip verification and the fingerprint registry; prints one JSON object.

    .venv/bin/python bench/verify.py [--levels 10000,100000,1000000] [--clip-seconds 10] [--skip-verify]

- seconds to verify a 10 s and a 60 s clip (every check, with enrolled and protected voices to
  compare, so the speaker embedding runs), per stage, torch limited to 2 threads;
- fingerprint lookup latency with 10^4, 10^5 and 10^6 registered clips: synthetic registries whose
  hash values follow the distribution of real speech fingerprints (Piper and espeak-ng sentences),
  written straight into the posting blocks of a scratch SQLite database, plus one real registered
  clip that a real 10 s query must find;
- the same real clip played 5% faster (resampled), which only the warp search finds: the time of
  `find_warped_in_registry(warped_query(...))` (the fallback `fingerprint_evidence` runs when the
  plain lookup finds nothing), with the time to compute the warped query apart;
- the registry's size on disk per hour of registered audio (compacted blocks, and fresh rows).

Everything happens in a scratch database under /tmp that is deleted at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def _setup_django(db_path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
    os.environ["VOICEGATE_VAR_DIR"] = str(db_path.parent)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _speech(seconds: float):
    import numpy as np

    from tests.speech import SENTENCES, speech

    parts, total = [], 0
    i = 0
    while total < seconds * 16000:
        part = speech(SENTENCES[i % len(SENTENCES)], "piper", 16000)
        parts.append(part)
        total += part.size
        i += 1
    return np.concatenate(parts)[: int(seconds * 16000)]


def _hash_marginals():
    """Marginal distributions of a hash's three fields (anchor bin, bin delta, frame delta) in real speech.

    A few thousand real hashes cannot estimate the distribution over ~10^6 hash values directly
    (almost every value is seen once), but they estimate each field's marginal well; synthetic
    hashes draw the fields independently from those marginals.
    """
    import numpy as np

    from voicegate.fingerprint import fingerprint
    from tests.speech import SENTENCES, speech

    values = []
    for voice in ("piper", "espeak"):
        for text in SENTENCES:
            values += [h for h, _ in fingerprint(speech(text, voice, 16000), 16000)]
    values = np.asarray(values)
    marginals = [np.bincount(values >> 13, minlength=256), np.bincount((values >> 6) & 0x7F, minlength=128),
                 np.bincount(values & 0x3F, minlength=64)]
    return [m / m.sum() for m in marginals], int(values.size)


def bench_verify(seconds_list=(10, 60)) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(2)
    from consent.models import ProtectedVoice, Voice
    from consent.speaker import embed_speaker
    from safety.services import examine_clip
    from tests.speech import speech
    from voicegate.accounts.services import create_organisation
    from voicegate.audio import encode_audio

    org = create_organisation("Bench Org", "bench-admin").organisation
    for i, voice in enumerate(("piper", "espeak")):
        emb = embed_speaker(speech(f"Reference sentence number {i} for the benchmark voice.", voice, 16000), 16000)
        Voice.objects.create(organisation=org, name=f"bench voice {voice}", embedding=emb.tolist())
    ProtectedVoice.objects.create(name="bench protected", reason="bench",
                                  embeddings=[np.roll(emb, 7).tolist()])
    results = {}
    examine_clip(encode_audio(_speech(3), 16000, "wav"), organisation=org)  # load models once
    for seconds in seconds_list:
        data = encode_audio(_speech(seconds), 16000, "mp3")
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            report = examine_clip(data, organisation=org)
            runs.append((time.perf_counter() - started, report.body["timings_s"]))
        best = min(runs, key=lambda r: r[0])
        results[f"{seconds}s_clip"] = {"median_s": round(statistics.median(r[0] for r in runs), 3),
                                       "best_s": round(best[0], 3), "stages_s_of_best": best[1],
                                       "verdict": report.verdict}
    return results


def bench_registry(levels, clip_seconds: float, repeats: int = 15) -> dict:
    import numpy as np
    from django.db import connection

    from voicegate.fingerprint import fingerprint, warped_query
    from safety.models import FingerprintHash, RegisteredClip
    from safety.registry import pack_postings
    from safety.selectors import find_in_registry, find_warped_in_registry
    from tests.watermark.attacks import WARP_ATTACKS
    from safety.services import compact_fingerprints, register_fingerprint

    (p_anchor, p_df, p_dt), sample_size = _hash_marginals()
    real = _speech(12)
    hashes_per_second = len(fingerprint(real, 16000)) / 12
    rng = np.random.default_rng(0)
    frames = int(clip_seconds / 0.032)
    out = {"hashes_per_second": round(hashes_per_second, 1), "synthetic_clip_seconds": clip_seconds,
           "sample_hashes": sample_size, "levels": {}}
    db_file = Path(connection.settings_dict["NAME"])
    # Fresh rows (before compaction) per hour, measured on real clips while the database is small.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    before = db_file.stat().st_size
    for i in range(40):
        register_fingerprint(f"00000000-0000-0000-0000-{i:012d}", _speech(10) * (0.5 + i / 80), 16000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    out["fresh_rows_mb_per_hour_of_audio"] = round((db_file.stat().st_size - before) / 1e6 / (40 * 10 / 3600), 2)
    FingerprintHash.objects.all().delete()
    RegisteredClip.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    registered = 0
    for level in levels:
        # Grow the synthetic registry to `level` clips: draw each hash's postings independently
        # (Poisson counts from the empirical distribution), append to its block.
        new_clips = level - registered
        per_clip = hashes_per_second * clip_seconds
        started = time.perf_counter()
        slice_values = (np.arange(128)[:, None] << 6) | np.arange(64)[None, :]
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            for anchor in np.nonzero(p_anchor)[0].tolist():
                expected = new_clips * per_clip * p_anchor[anchor] * np.outer(p_df, p_dt)
                counts = rng.poisson(expected).ravel()
                total = int(counts.sum())
                if total == 0:
                    continue
                clips = rng.integers(registered + 1_000_000, registered + 1_000_000 + new_clips, total)
                offsets = rng.integers(0, frames, total)
                bounds = np.cumsum(counts)
                batch = []
                for index in np.nonzero(counts)[0].tolist():
                    end = int(bounds[index])
                    start = end - int(counts[index])
                    value = (anchor << 13) | int(slice_values.ravel()[index])
                    batch.append((value, pack_postings(clips[start:end], offsets[start:end]), end - start))
                _append_blocks(cursor, batch)
            cursor.execute("COMMIT")
        registered = level
        build_s = time.perf_counter() - started
        # One real output, registered and compacted like production, that the query must find.
        if not RegisteredClip.objects.filter(generation_id="00000000-0000-0000-0000-0000000000aa").exists():
            register_fingerprint("00000000-0000-0000-0000-0000000000aa", real, 16000)
            compact_fingerprints()
        query = fingerprint(real[2 * 16000:12 * 16000], 16000)
        timings = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            found = find_in_registry(query)
            timings.append(time.perf_counter() - t0)
        sped_up = WARP_ATTACKS["speed"](real[2 * 16000:12 * 16000], 16000, 1.05)
        t0 = time.process_time()
        warped = warped_query(sped_up, 16000)
        warp_query_s = time.process_time() - t0
        warped_timings = []
        for _ in range(max(3, repeats // 5)):
            t0 = time.perf_counter()
            warped_found = find_warped_in_registry(warped)
            warped_timings.append(time.perf_counter() - t0)
        size = db_file.stat().st_size
        hours = level * clip_seconds / 3600
        out["levels"][str(level)] = {
            "lookup_ms_median": round(1000 * statistics.median(timings), 2),
            "lookup_ms_p95": round(1000 * sorted(timings)[int(0.95 * (len(timings) - 1))], 2),
            "query_hashes": len(query), "found_real_clip": bool(found) and
            found[0].generation_id == "00000000-0000-0000-0000-0000000000aa",
            "best_score": found[0].vote.score if found else 0,
            "sped_up_5pct": {"found_real_clip": bool(warped_found) and
                             warped_found[0].generation_id == "00000000-0000-0000-0000-0000000000aa",
                             "score": warped_found[0].vote.score if warped_found else 0,
                             "query_hashes": len(warped.hashes), "warped_query_cpu_s": round(warp_query_s, 3),
                             "lookup_ms_median": round(1000 * statistics.median(warped_timings), 1)},
            "db_file_mb": round(size / 1e6, 1), "mb_per_hour_of_audio": round(size / 1e6 / hours, 3),
            "build_s": round(build_s, 1)}
        print(json.dumps({"progress": level, **out["levels"][str(level)]}), file=sys.stderr, flush=True)
    return out


def _append_blocks(cursor, batch) -> None:
    if not batch:
        return
    # Scratch-table bulk load: SQLite's UPSERT appends the new postings to an existing block.
    cursor.executemany(
        "INSERT INTO safety_fingerprintblock (hash, postings, count) VALUES (%s, %s, %s) "
        "ON CONFLICT(hash) DO UPDATE SET postings = CAST(postings || excluded.postings AS BLOB), count = count + excluded.count",
        batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="10000,100000,1000000")
    parser.add_argument("--clip-seconds", type=float, default=10.0)
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--skip-registry", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="voicegate-bench-verify-"))
    db_path = scratch / "bench.sqlite3"
    try:
        _setup_django(db_path)
        result = {"machine": f"{os.cpu_count()} CPU cores", "database": "sqlite (scratch)"}
        if not args.skip_verify:
            result["verify"] = bench_verify()
        if not args.skip_registry:
            result["registry"] = bench_registry([int(x) for x in args.levels.split(",")], args.clip_seconds)
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
