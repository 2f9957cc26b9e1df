"""Fingerprint registry lookup latency and size, on SQLite and PostgreSQL. Prints JSON.

    .venv/bin/python bench/fingerprint.py [--clips 10000 100000 1000000] [--seconds-per-clip 1]

Synthetic registry: each clip gets `hashes_per_second * seconds_per_clip` hashes spread uniformly
over the 21-bit hash space of safety.fingerprint, with frame offsets; a query is about 150 hashes
(what a real 3 s excerpt gives): the clip's own, a third of them damaged, topped up with random
ones. Rows live in a scratch table
(hash, clip_id, frame) with a B-tree index on hash, the layout the Django registry uses; the
table is dropped afterwards. PostgreSQL: 127.0.0.1:5432, user postgres, database test.
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

from safety.fingerprint import frame_seconds, score_postings  # noqa: E402

HASH_BITS = 21
TABLE = "bench_fingerprint_scratch"
QUERIES = 40
QUERY_SECONDS = 3.0


def measured_hashes_per_second() -> float:
    """From real speech, so the synthetic registry has the density the real one will."""
    from safety.fingerprint import fingerprint
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seconds-per-clip", type=float, default=1.0,
                        help="registered audio per synthetic clip (rows = clips x seconds x hashes/s)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
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
