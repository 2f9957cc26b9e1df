"""Where a speed, tempo or pitch change loses the watermark: the channel seen by the detector.

    OMP_NUM_THREADS=1 .venv/bin/python bench/watermark_channel.py [--clips 10]

For marked Piper clips (two sentences, ~9 s, 16 kHz, the same clips as bench/watermark.py) after
each warp + MP3 64k, with the warp undone exactly (its known factor, the best constant offset):

- ``time_map``: the received position of each 0.4 s block of the original, from the log band
  energies (offset from the uniform warp, in 4 ms frames: a constant offset is latency, a spread
  is a time warp that varies along the clip);
- ``coherence``: per band pair (250 Hz up), the weighted mean cosine between the phase the
  embedder wrote and the phase received (1 = intact, 0 = lost), as the detector weights tiles;
- ``ratio_error_db``: per band pair, the slope of received against written tile ratio (1 = no
  compression) and the standard deviation of the difference;
- ``excerpt_3s``: the detector's z on a random 3 s excerpt (+ MP3 64k) against the z the exact
  warp gives with the unwarped search, and the warped threshold.

Prints one JSON object. The figures explain docs/watermark.md ("Phase vocoders").
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from tests.speech import SENTENCES, speech  # noqa: E402
from tests.watermark.attacks import SEMITONE, WARP_ATTACKS, ffmpeg  # noqa: E402
from watermark import dsp  # noqa: E402

SR = 16000
# (attack, factor) -> (time scale, frequency scale) the detector must undo
WARPS = {("sox_tempo", 1.10): (1 / 1.10, 1.0), ("atempo", 1.10): (1 / 1.10, 1.0),
         ("rubberband_tempo", 1.10): (1 / 1.10, 1.0), ("rubberband_tempo", 0.90): (1 / 0.90, 1.0),
         ("sox_pitch", 1 / SEMITONE): (1.0, 1 / SEMITONE), ("rubberband_pitch", 1 / SEMITONE): (1.0, 1 / SEMITONE),
         ("rubberband_pitch", SEMITONE): (1.0, SEMITONE)}


def band_energy(x: np.ndarray, freq_scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Band energies of ``x`` on the original frequency grid, a pitch change undone by the detector's
    own second reading (the waveform resampled, the residual by scaled band edges), and the factor
    that resampling scaled time by."""
    power, cumulative, ratio = dsp._resampled_power(dsp._to_internal(np.asarray(x, np.float64), SR), freq_scale)
    return dsp._scaled_band_energy(power, cumulative, freq_scale / ratio).astype(np.float64), ratio


def time_map(original: np.ndarray, received: np.ndarray, scale: float, block: int = 100) -> list[float]:
    """Offset (frames) of each block of the original in the received clip beyond the uniform warp."""
    lo, lr = np.log(original + 1e-9), np.log(received + 1e-9)
    lo -= lo.mean(1, keepdims=True)
    lr -= lr.mean(1, keepdims=True)
    offsets = []
    for start in range(0, original.shape[0] - block, block):
        segment = lo[start:start + block]
        scores = []
        for offset in np.arange(0.0, 40.0, 0.5):
            position = (start + np.arange(block)) * scale + offset
            if position[-1] >= received.shape[0] - 1:
                scores.append(-np.inf)
                continue
            first = np.floor(position).astype(int)
            frac = (position - first)[:, None]
            reading = lr[first] * (1 - frac) + lr[first + 1] * frac
            scores.append(np.sum(segment * reading) / np.sqrt(np.sum(segment ** 2) * np.sum(reading ** 2)))
        offsets.append(float(np.arange(0.0, 40.0, 0.5)[int(np.argmax(scores))]))
    return offsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    layout = dsp._layout(dsp.DEFAULT_KEY)
    pairs = [(a, b) for a in range(len(SENTENCES)) for b in range(len(SENTENCES)) if a != b]
    pairs = [pairs[i] for i in np.random.default_rng(5).permutation(len(pairs))[:args.clips]]
    rows: dict[str, dict[str, list]] = {}
    for a, b in pairs:
        host = np.concatenate([speech(SENTENCES[a], "piper", SR), speech(SENTENCES[b], "piper", SR)]).astype(np.float64)
        payload = rng.bytes(4)
        marked = dsp.embed(host, SR, payload)
        written = band_energy(marked)[0]
        hyp = dsp._sync_search(written, layout)[0][0]
        position = np.mod(np.arange(written.shape[0] // dsp.FRAMES_PER_TILE + 1) + hyp.shift, dsp.SUPER_COLUMNS)
        code = dsp._coded_pattern(payload, layout)
        expected = 2 * np.pi * layout.dither[position] / dsp.STEPS_DB + np.pi * code[position]
        written_tiles = dsp._tile_energy(written, hyp.phase)
        for (name, factor), (time_scale, freq_scale) in WARPS.items():
            label = f"{name}_{factor:.3f}"
            row = rows.setdefault(label, {"offsets": [], "cos": [], "weight": [], "written": [], "received": [],
                                          "search_z": [], "exact_z": [], "threshold_z": [], "detected": []})
            warped = WARP_ATTACKS[name](marked, SR, factor)
            received, stretch = band_energy(ffmpeg(warped, SR, ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"), freq_scale)
            scale = time_scale * stretch
            row["offsets"].append(time_map(written, received, scale))
            # The best constant offset (the attack's latency), judged by the decoded z.
            best = max((dsp._decode_region(dsp._phasors(dsp._tile_energy(
                dsp._retimed(received, scale, 0, offset), hyp.phase)), hyp.shift, layout, slice(None))[2], offset)
                for offset in np.arange(0.0, 30.0, 0.5))
            tiles = dsp._tile_energy(dsp._retimed(received, scale, 0, best[1]), hyp.phase)
            n = min(len(tiles), len(written_tiles))
            phasors = dsp._phasors(tiles[:n])
            row["cos"].append(np.sum(np.real(phasors * np.exp(-1j * expected[:n])), axis=0))
            row["weight"].append(np.sum(np.abs(phasors), axis=0))
            loud = dsp._reliability(written_tiles[:n]) > 0.5
            row["written"].append(np.where(loud, dsp._ratio_db(written_tiles[:n]), np.nan))
            row["received"].append(np.where(loud, dsp._ratio_db(tiles[:n]), np.nan))
            # A 3 s excerpt after MP3: the detector, and the exact warp given to the unwarped search.
            start = int(rng.integers(0, max(1, warped.size - 3 * SR)))
            excerpt = ffmpeg(warped[start:start + 3 * SR], SR, ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3")
            found = dsp.detect(excerpt, SR)
            excerpt_bands, stretch = band_energy(excerpt, freq_scale)
            exact = dsp._detect_unwarped(dsp._retimed(excerpt_bands, time_scale * stretch), layout)
            row["search_z"].append(found.z_score if found.payload in (None, payload) else 0.0)
            row["exact_z"].append(exact.z_score)
            row["threshold_z"].append(found.threshold_z)
            row["detected"].append(bool(found.detected and found.payload == payload))
    result = {"clips": len(pairs), "attack": "warp, then MP3 64k", "warps": {}}
    for label, row in rows.items():
        written, received = np.concatenate(row["written"]), np.concatenate(row["received"])
        slopes, errors = [], []
        for p in range(dsp.N_PAIRS):
            keep = ~np.isnan(written[:, p]) & ~np.isnan(received[:, p])
            slopes.append(round(float(np.polyfit(written[keep, p], received[keep, p], 1)[0]), 3))
            errors.append(round(float(np.std(received[keep, p] - written[keep, p])), 2))
        offsets = np.array(row["offsets"], dtype=object)
        spreads = [float(np.max(o) - np.min(o)) for o in offsets]
        result["warps"][label] = {
            "time_map": {"latency_frames_median": float(np.median(np.concatenate(offsets))),
                         "spread_frames_max": max(spreads), "spread_frames_median": float(np.median(spreads))},
            "coherence_by_pair": [round(float(c), 2) for c in np.sum(row["cos"], axis=0) / np.sum(row["weight"], axis=0)],
            "ratio_slope_by_pair": slopes,
            "ratio_error_db_by_pair": errors,
            "excerpt_3s": {"search_z": [round(z, 1) for z in row["search_z"]],
                           "exact_warp_z": [round(z, 1) for z in row["exact_z"]],
                           "threshold_z": round(float(np.median(row["threshold_z"])), 2),
                           "detected": int(sum(row["detected"]))},
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
