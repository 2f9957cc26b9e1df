"""Fingerprint registry lookup latency and size, on SQLite and PostgreSQL. Prints JSON.

    .venv/bin/python bench/fingerprint.py [--clips 10000 100000 1000000] [--seconds-per-clip 1]

Synthetic registry: each clip gets `hashes_per_second * seconds_per_clip` hashes spread uniformly
over the 21-bit hash space of safety.fingerprint, with frame offsets; a query is about 150 hashes
(what a real 3 s excerpt gives): the clip's own, a third of them damaged, topped up with random
ones. Rows live in a scratch table
(hash, clip_id, frame) with a B-tree index on hash, the layout the Django registry uses; the
table is dropped afterwards. PostgreSQL: 127.0.0.1:5432, user postgres, database test.

    .venv/bin/python bench/fingerprint.py --warps [--filler-clips 10000]

measures instead whether sped-up, tempo-changed and pitch-shifted registered outputs are found
(real Piper speech registered among synthetic filler clips, looked up in memory with the
platform's vote; the attacks are ffmpeg's atempo and rubberband, sox's tempo and pitch, and
resampling), and the best score unregistered audio reaches under the warp search.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

from voicegate.fingerprint import frame_seconds, score_postings  # noqa: E402

HASH_BITS = 21
TABLE = "bench_fingerprint_scratch"
QUERIES = 40
QUERY_SECONDS = 3.0


def measured_hashes_per_second() -> float:
    """From real speech, so the synthetic registry has the density the real one will."""
    from voicegate.fingerprint import fingerprint
    from tests.speech import SENTENCES, speech

    samples = np.concatenate([speech(text, voice="piper", sample_rate=16000) for text in SENTENCES[:4]])
    return len(fingerprint(samples, 16000)) / (samples.size / 16000)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a clip's synthetic hashes are a pure function of (clip, index)."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def clip_hashes(first: int, count: int, per_clip: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = (np.arange(first, first + count, dtype=np.uint64)[:, None] << np.uint64(20)) + np.arange(
        per_clip, dtype=np.uint64)[None, :]
    mixed = _mix(keys.ravel())
    hashes = (mixed & np.uint64(2 ** HASH_BITS - 1)).astype(np.int64)
    frames_per_clip = max(1, int(per_clip / 50 / frame_seconds))  # ~50 hashes per second of audio
    frames = ((mixed >> np.uint64(32)) % np.uint64(frames_per_clip)).astype(np.int64)
    clip_ids = np.repeat(np.arange(first, first + count, dtype=np.int64), per_clip)
    return hashes, clip_ids, frames


def synthetic_rows(clips: int, per_clip: int):
    """Yield (hash, clip_id, frame) arrays in chunks, so a million clips never sit in memory."""
    chunk = max(1, 1_000_000 // per_clip)
    for first in range(0, clips, chunk):
        yield clip_hashes(first, min(chunk, clips - first), per_clip)


def query_for(clip: int, per_clip: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A 3 s excerpt's worth of hashes (about 150): up to that many of the clip's own, a third
    of them damaged, topped up with random ones (hashes a codec or noise changed)."""
    hashes, _, frames = clip_hashes(clip, 1, per_clip)
    size = int(50 * QUERY_SECONDS)
    query = [(int(h), int(f)) for h, f in zip(hashes[:size], frames[:size])]
    for i in range(0, len(query), 3):
        query[i] = (int(rng.integers(0, 2 ** HASH_BITS)), query[i][1])
    query += [(int(rng.integers(0, 2 ** HASH_BITS)), 0) for _ in range(size - len(query))]
    return query


def time_lookups(fetch, clips: int, per_clip: int) -> dict:
    rng = np.random.default_rng(clips)
    latencies, correct = [], 0
    for _ in range(QUERIES):
        clip = int(rng.integers(0, clips))
        query = query_for(clip, per_clip, rng)
        started = time.perf_counter()
        rows = fetch(sorted({h for h, _ in query}))
        matches = score_postings(query, rows)
        latencies.append((time.perf_counter() - started) * 1000)
        correct += bool(matches) and matches[0].clip_id == clip
    latencies.sort()
    return {"lookup_ms_median": round(statistics.median(latencies), 2),
            "lookup_ms_p95": round(latencies[int(0.95 * len(latencies)) - 1], 2),
            "found_right_clip": f"{correct}/{QUERIES}", "query_hashes": len(query)}


def bench_sqlite(clips: int, per_clip: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "registry.sqlite3")
        db = sqlite3.connect(path)
        db.execute(f"CREATE TABLE {TABLE} (hash INTEGER NOT NULL, clip_id INTEGER NOT NULL, frame INTEGER NOT NULL)")
        started = time.perf_counter()
        for hashes, clip_ids, frames in synthetic_rows(clips, per_clip):
            db.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                           zip(hashes.tolist(), clip_ids.tolist(), frames.tolist()))
        # Covering index (all three columns), so a lookup never visits the table itself.
        db.execute(f"CREATE INDEX {TABLE}_hash ON {TABLE} (hash, clip_id, frame)")
        db.commit()
        load_s = time.perf_counter() - started
        size = os.path.getsize(path)

        def fetch(hashes):
            marks = ",".join("?" * len(hashes))
            return db.execute(f"SELECT hash, clip_id, frame FROM {TABLE} WHERE hash IN ({marks})", hashes).fetchall()

        result = time_lookups(fetch, clips, per_clip)
        db.close()
    return {**result, "load_s": round(load_s, 1), "bytes": size}


def bench_postgres(clips: int, per_clip: int) -> dict:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(f"CREATE TABLE {TABLE} (hash integer NOT NULL, clip_id bigint NOT NULL, frame integer NOT NULL)")
        try:
            started = time.perf_counter()
            with db.cursor() as cursor:
                for hashes, clip_ids, frames in synthetic_rows(clips, per_clip):
                    with cursor.copy(f"COPY {TABLE} (hash, clip_id, frame) FROM STDIN") as copy:
                        block = np.column_stack([hashes, clip_ids, frames])
                        copy.write("\n".join(f"{a}\t{b}\t{c}" for a, b, c in block.tolist()) + "\n")
            # Covering index: a lookup is an index-only scan, no random heap reads per posting.
            db.execute(f"CREATE INDEX {TABLE}_hash ON {TABLE} (hash) INCLUDE (clip_id, frame)")
            db.execute(f"VACUUM ANALYZE {TABLE}")
            load_s = time.perf_counter() - started
            size = db.execute(f"SELECT pg_total_relation_size('{TABLE}')").fetchone()[0]

            def fetch(hashes):
                return db.execute(f"SELECT hash, clip_id, frame FROM {TABLE} WHERE hash = ANY(%s)",
                                  (hashes,)).fetchall()

            result = time_lookups(fetch, clips, per_clip)
        finally:
            db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return {**result, "load_s": round(load_s, 1), "bytes": size}


def _registry(real: list[np.ndarray], filler_clips: int, per_clip: int):
    """Sorted (hash, clip, frame) arrays: real clips 0..n-1, then synthetic filler clips."""
    from voicegate.fingerprint import fingerprint

    parts = [np.array([(h, i, f) for h, f in fingerprint(clip, 16000)], dtype=np.int64).reshape(-1, 3)
             for i, clip in enumerate(real)]
    for hashes, clip_ids, frames in synthetic_rows(filler_clips, per_clip):
        parts.append(np.column_stack([hashes, clip_ids + len(real), frames]))
    rows = np.concatenate(parts)
    return rows[np.argsort(rows[:, 0], kind="stable")]


def _lookup(rows: np.ndarray, query, min_score: int):
    from safety.registry import vote

    wanted = np.unique(np.array([h for h, _ in query], dtype=np.int64))
    left, right = np.searchsorted(rows[:, 0], wanted, "left"), np.searchsorted(rows[:, 0], wanted, "right")
    counts = right - left
    picked = np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    return vote(query, rows[picked, 0], rows[picked, 1], rows[picked, 2], min_score=min_score)


def bench_warps(filler_clips: int) -> dict:
    """Registered outputs after speed, tempo and pitch changes: found, by the plain lookup and the warp search."""
    from voicegate.fingerprint import MIN_SCORE, WARP_MIN_SCORE, fingerprint, warped_query
    from tests.speech import SENTENCES, speech
    from tests.watermark.attacks import ATTACKS, WARP_ATTACKS

    real = [np.concatenate([speech(a, "piper", 16000), speech(b, "piper", 16000)]).astype(np.float64)
            for a, b in zip(SENTENCES[0::2], SENTENCES[1::2])]  # 6 clips of two sentences, no sentence twice
    unregistered = [speech(text, "espeak", 16000).astype(np.float64) for text in SENTENCES]  # same words, other voice
    unregistered += [np.random.default_rng(i).normal(0, 0.05, 5 * 16000) for i in range(4)]  # white noise
    per_clip = int(round(measured_hashes_per_second() * 10))  # 10 s filler clips
    rows = _registry(real, filler_clips, per_clip)
    attacks = [("speed", 0.95), ("speed", 0.97), ("speed", 1.03), ("speed", 1.05), ("atempo", 0.95),
               ("atempo", 1.05), ("sox_tempo", 0.95), ("sox_tempo", 1.05), ("sox_pitch", 0.95),
               ("sox_pitch", 1.05), ("rubberband_pitch", 0.95), ("rubberband_pitch", 1.05)]
    report: dict = {"registered_real_clips": len(real), "filler_clips": filler_clips, "rows": int(len(rows)),
                    "attacks": {}}

    def found(samples: np.ndarray, expected: int) -> tuple[bool, int, bool, int, float]:
        plain = _lookup(rows, fingerprint(samples, 16000), MIN_SCORE)
        started = time.process_time()
        query = warped_query(samples, 16000)
        warped = _lookup(rows, query.hashes, WARP_MIN_SCORE)
        elapsed = time.process_time() - started
        return (bool(plain) and plain[0].clip_id == expected, plain[0].score if plain else 0,
                bool(warped) and warped[0].clip_id == expected, warped[0].score if warped else 0, elapsed)

    for name, factor in attacks:
        for excerpt in (None, 3.0):
            label = f"{name}_{factor:.2f}" + ("+3s+mp3" if excerpt else "")
            results = []
            for i, clip in enumerate(real):
                changed = WARP_ATTACKS[name](clip, 16000, factor)
                if excerpt:
                    start = int(0.3 * (changed.size - excerpt * 16000))
                    changed = ATTACKS["mp3_64k"](changed[start:start + int(excerpt * 16000)], 16000)
                results.append(found(changed, i))
            report["attacks"][label] = {  # found_with_warp_search: by either lookup (the platform tries both)
                "found_plain": f"{sum(r[0] for r in results)}/{len(results)}",
                "found_with_warp_search": f"{sum(r[0] or r[2] for r in results)}/{len(results)}",
                "median_warped_score": float(np.median([r[3] for r in results])),
                "lookup_cpu_s_median": round(float(np.median([r[4] for r in results])), 3)}
    false_matches, best = 0, 0
    for samples in unregistered + [WARP_ATTACKS["speed"](x, 16000, 1.03) for x in unregistered[:12]]:
        query = warped_query(samples, 16000)
        votes = _lookup(rows, query.hashes, 1)
        best = max(best, votes[0].score if votes else 0)
        false_matches += bool(votes) and votes[0].score >= WARP_MIN_SCORE
    report["unregistered"] = {"queries": len(unregistered) + 12, "false_matches": false_matches,
                              "best_score": best, "warp_min_score": WARP_MIN_SCORE}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seconds-per-clip", type=float, default=1.0,
                        help="registered audio per synthetic clip (rows = clips x seconds x hashes/s)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--warps", action="store_true", help="speed/tempo/pitch robustness instead of latency")
    parser.add_argument("--filler-clips", type=int, default=10_000)
    args = parser.parse_args()
    if args.warps:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # lookup CPU time on one core
            print(json.dumps(bench_warps(args.filler_clips), indent=2))
        return
    density = measured_hashes_per_second()
    per_clip = max(1, int(round(density * args.seconds_per_clip)))
    report: dict = {"hashes_per_second_of_speech": round(density, 1), "frame_seconds": frame_seconds,
                    "seconds_per_clip": args.seconds_per_clip, "hashes_per_clip": per_clip, "results": []}
    for clips in args.clips:
        for backend in args.backends:
            result = (bench_sqlite if backend == "sqlite" else bench_postgres)(clips, per_clip)
            hours = clips * args.seconds_per_clip / 3600
            result.update(backend=backend, clips=clips, rows=clips * per_clip,
                          mb_per_hour_of_audio=round(result["bytes"] / hours / 1e6, 2))
            report["results"].append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
