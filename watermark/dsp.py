"""A DSP payload watermark for speech: dither modulation of sub-band energy ratios in the STFT domain.

Method (citations, so a reader can check the reasoning):
- Quantisation index modulation / dither modulation, B. Chen and G. W. Wornell, "Quantization index
  modulation: a class of provably good methods for digital watermarking and information embedding",
  IEEE Trans. Information Theory 47(4), 2001. The embedder knows the host, so host interference is
  cancelled rather than fought (which blind spread spectrum cannot do at 25 dB SNR and 16 bit/s).
- The quantised feature is the log ratio of the energies of two neighbouring sub-bands in one
  time-frequency tile, as in energy-ratio / patchwork audio marks (e.g. Xiang et al., "Patchwork-based
  audio watermarking method robust to de-synchronization attacks", IEEE/ACM TASLP 22(9), 2014).
  A ratio is invariant to gain; it is carried by band energies, which perceptual codecs (MP3, AAC and
  Opus/CELT, which codes band energies explicitly) preserve well. The mark is a multiplicative gain
  on the host's STFT, so it is scaled to the host's own magnitude (silence stays silent).
- Error correction: the NASA K=7 rate-1/2 convolutional code (generators 133, 171 octal) with soft
  Viterbi decoding over a CRC-16/CCITT-protected 32-bit payload.
- Synchronisation: a keyed pseudo-random sync pattern on a quarter of the tiles; the detector searches
  every tile phase and cyclic shift of the repeating period, so any excerpt longer than one period
  (2.048 s) plus a little decodes.
- Speed, tempo and pitch changes: the detector searches a fixed grid of time x frequency scalings
  (playback speed, tempo, pitch), undoing each on the STFT power (scaled band edges, re-read
  frames), coarse to fine; the false-positive bound counts every grid point (docs/watermark.md).
  Compare audiowmark's --detect-speed (S. Westerfeld), which searches replay speed only.
- False positives: the detection statistic is a sum of cosines of dithered phases; with keyed uniform
  dithers each term is a cos(U) with U uniform on the circle whatever the audio, whose moment
  generating function I0(l a) <= exp(l^2 a^2 / 4) gives a Chernoff bound P(z >= t) <= exp(-t^2) per
  hypothesis (Hoeffding's range-only bound, exp(-t^2 / 2), was used until 2026-12-07), and a union
  bound over every hypothesis the search could pick. See docs/watermark.md for the derivation.

Everything runs at an internal rate of 8 kHz with the mark between 250 Hz and 3.25 kHz, so it
survives a 4 kHz lowpass, telephone-band resampling and codecs that drop high frequencies.
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.fft as sfft
from scipy.signal import resample_poly

__all__ = ["Detection", "embed", "detect", "StreamingEmbedder", "PAYLOAD_BYTES", "FALSE_POSITIVE_TARGET"]

PAYLOAD_BYTES = 4
FALSE_POSITIVE_TARGET = 1e-6  # per clip, see docs/watermark.md
INTERNAL_RATE = 8000
N_FFT = 256  # 32 ms at 8 kHz
HOP = 32  # 4 ms: the detector tries every hop offset, so its alignment error is at most 2 ms
FRAMES_PER_TILE = 16  # tile = 64 ms x 125 Hz
FIRST_BIN = 8  # 250 Hz at 31.25 Hz per bin
BINS_PER_BAND = 4
N_BANDS = 24  # 250 Hz .. 3250 Hz
N_PAIRS = N_BANDS // 2
COLUMNS_PER_PERIOD = 32  # 2.048 s
POSITIONS = COLUMNS_PER_PERIOD * N_PAIRS
# The coded bits repeat every period, but the dithers only every SUPER_PERIODS periods (32.8 s):
# repeated dithers would make the statistic's terms dependent (a steady tone would add up coherently
# under no mark), so without fresh dithers the false-positive bound could not grow with the clip.
SUPER_PERIODS = 16
SUPER_COLUMNS = COLUMNS_PER_PERIOD * SUPER_PERIODS
N_SYNC = 96
# Quantiser step of each pair's band-energy ratio (dB), growing geometrically with frequency from
# STEP_DB (250-500 Hz) to STEP_TOP_DB (2.75-3.25 kHz). Measured after Opus at 32 kbps (SILK/hybrid
# mode): the lowest pair's ratios move by ~0.5 dB, the upper ones by ~1 dB or more, so a 3 dB step
# kept only ~0.1 of the mark up there; a wider step keeps them decodable and costs little SNR,
# because speech has 20-30 dB less energy at 2-3 kHz (see docs/watermark.md for the measurements).
STEP_DB = 2.5
STEP_TOP_DB = 14.0
STEPS_DB = np.geomspace(STEP_DB, STEP_TOP_DB, N_PAIRS)
EMBED_ITERATIONS = 2
DEFAULT_KEY = b"voicegate-watermark-v1"

# Convolutional code (K=7, rate 1/2) and CRC.
_K = 7
_GENERATORS = (0o133, 0o171)
_CRC_BITS = 16
_INFO_BITS = PAYLOAD_BYTES * 8 + _CRC_BITS
_CODED_BITS = 2 * (_INFO_BITS + _K - 1)

# Detection search: every tile phase and every cyclic shift of the period.
_WINDOW_COLUMNS = 44  # ~2.8 s analysis window, fits in any 3 s excerpt whatever its phase
_WINDOW_STEP = 16  # ~1 s
_REGION_SYNC_Z = 3.0  # a window joins the decoded region when its sync statistic passes this
_CANDIDATES = 3
_LOCAL_COLUMNS = 12  # ~0.77 s, for localisation
_LOCAL_STEP = 4
_LOCAL_Z = 2.5

# Warp search (speed, tempo and pitch changes; see docs/watermark.md). A warp maps the original
# timeline and spectrum onto the received ones: time_scale = received duration / original,
# freq_scale = received frequency / original. Hypotheses lie on three lines through the identity,
# each a fixed grid in log(scale) with step _WARP_STEP: playback speed (resampling: time and
# frequency scale together), tempo (time only) and pitch (frequency only). The coarse pass tries
# every _COARSE_EVERY-th grid point with a cheap sync search; the best few are refined on the grid.
_WARP_STEP = 0.0025  # 0.25%: decoding a 10 s region needs the time scale within ~0.15%
_WARP_LINES = ((-1, 1, 44), (-1, 0, 44), (0, 1, 25))  # (time exponent, frequency exponent, max |k|)
_COARSE_EVERY = 4  # 1%: the sync of one ~2.8 s window tolerates 0.5% of scale error
_COARSE_PHASES = (0, 4, 8, 12)
_COARSE_WINDOW_STEP = 32  # ~2 s between the coarse pass's sync windows (the fine pass uses every ~1 s)
# Coarse warps refined, for every clip: 5 for clips over 3.5 s until 2026-12-08, when an 8 s clip after
# rubberband pitch -1 semitone + MP3 ranked its right warp 6th-8th (short clips already refined 8).
_COARSE_KEEP = 8
_FINE_DECODES = 4  # refined variants (of the 20 around each coarse warp) decoded, by their sync score
_FINE_OFFSETS = (-1.5, -0.5, 0.5, 1.5)  # frames of anchor shift tried in refinement: the coarse phases' gaps
_IDENTITY_SHARE = 0.5  # share of the 1e-6 false-positive budget kept by the unwarped search
# Readings of each fine warp that changes frequency: the scaled band edges on the received STFT power,
# and a second STFT of the waveform resampled so its spectrum is back on the original bins (a pitch
# shift smears a band's edge bins across its neighbours in the first reading, not in the second).
# The resampling is done at a 1% grid point, the residual undone by band edges; a fine warp between
# two 1% points can be read from either (it is refined from coarse warps on both sides), so the
# union bound counts three readings.
_READINGS = 3
# Per-pair weights the decoder tries, each a hypothesis of the union bound: flat, and proportional to
# the pair's quantiser step. A phase vocoder (rubberband) leaves roughly the same noise in dB on
# every pair's ratio, which the wide steps of the upper pairs tolerate and the 2.5-4 dB steps of the
# lower pairs do not (docs/watermark.md, "Where a phase vocoder loses the mark").
_PAIR_WEIGHTS = (np.ones(N_PAIRS), STEPS_DB / STEPS_DB[-1])
_SECOND_READS = 2  # of the _FINE_DECODES best variants of a coarse warp, the first this many are re-read
# Short clips (up to 6 s) get a more thorough coarse pass: every 0.5% instead of 1%, and the speed
# line's warps read from the resampled waveform too (the second reading; the pitch line's are for
# every clip). Scaled band edges smear a shifted band, and a 1% step is at the edge of what one
# window's sync tolerates, so on a short excerpt the right warp could miss the coarse shortlist
# (docs/watermark.md). Until 2026-12-08 this was up to 3.5 s; 4-6 s excerpts after rubberband + MP3
# were then missed 1-8% of the time, 0-2% with this pass. Its cost, one AMD EPYC core, unmarked
# speech (the whole search): 0.47 s for 3 s, 0.58 s for 6 s; a 10 s clip's cheaper pass about 0.31 s
# (2026-12-08, a session script). The bound is unchanged: it counts every grid warp and both readings
# whichever the coarse pass visits.
_SHORT_CLIP_FRAMES = 61 * INTERNAL_RATE // (10 * HOP)  # 6.1 s: a 6 s excerpt's frames, with a margin
_COARSE_EVERY_SHORT = 2
# A short clip's sync is too weak to rank the coarse warps alone (its true alignment was often not
# among the best 8 by sync when its decoded z passed the threshold): the best alignments of each
# coarse warp by sync are decoded as they are, and the warps are refined in the order of their decoded z.
_COARSE_DECODES_SHORT = 2
_RESAMPLE_DENOMINATOR = 400  # rational approximation of a frequency scale: < 1e-5 relative error

_WINDOW = np.hanning(N_FFT + 1)[:-1]  # periodic Hann; at hop N/4, sum of squares is 1.5
_OLA_NORM = float(np.sum(_WINDOW ** 2) / HOP)


@dataclass(frozen=True)
class Detection:
    detected: bool
    confidence: float  # 0.5 at the 1e-6 threshold, 1.0 at a bound of 1e-12 or less
    payload: bytes | None
    segments: list[tuple[float, float]] = field(default_factory=list)
    z_score: float = 0.0  # normalised correlation with the decoded codeword
    false_positive_bound: float = 1.0  # union x Chernoff bound on P(false detection) at this z
    threshold_z: float = 0.0  # the z this clip needed for a bound of 1e-6
    crc_ok: bool = False
    hypotheses: int = 0  # alignments x windows x valid codewords the bound accounts for
    decoded: bytes | None = None  # best-effort decode even when not detected (for bit-accuracy figures)
    time_scale: float = 1.0  # received duration / original, of the warp the mark was found under
    freq_scale: float = 1.0  # received frequency / original (playback speed or pitch shift)

    def as_dict(self) -> dict:
        return {"detected": self.detected, "confidence": round(self.confidence, 4),
                "payload": self.payload.hex() if self.payload is not None else None,
                "segments": [[round(a, 2), round(b, 2)] for a, b in self.segments],
                "z_score": round(self.z_score, 2), "false_positive_bound": self.false_positive_bound,
                "threshold_z": round(self.threshold_z, 2), "crc_ok": self.crc_ok,
                "time_scale": self.time_scale, "freq_scale": self.freq_scale}


# --- keyed layout --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    dither: np.ndarray  # [SUPER_COLUMNS, N_PAIRS] dither in dB, uniform in [0, STEPS_DB[pair])
    sync: np.ndarray  # bool [SUPER_COLUMNS, N_PAIRS], the same every period
    bit_index: np.ndarray  # int [SUPER_COLUMNS, N_PAIRS], coded-bit index of data positions, -1 for sync
    sync_phasors: np.ndarray  # [SUPER_COLUMNS, N_PAIRS] exp(2 pi i dither / step) on sync positions, 0 elsewhere
    sync_spectrum: np.ndarray  # FFT over columns of the conjugate sync phasors (for the sync search)
    mask_spectrum: np.ndarray  # real FFT over columns of the sync mask


@functools.lru_cache(maxsize=8)
def _layout(key: bytes) -> _Layout:
    seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    dither = rng.uniform(0.0, 1.0, size=(SUPER_COLUMNS, N_PAIRS)) * STEPS_DB
    order = rng.permutation(POSITIONS)
    sync = np.zeros(POSITIONS, dtype=bool)
    sync[order[:N_SYNC]] = True
    bit_index = np.full(POSITIONS, -1, dtype=np.int64)
    # Data positions cycle through the coded bits, so each coded bit lands on 2-3 scattered tiles.
    bit_index[order[N_SYNC:]] = np.arange(POSITIONS - N_SYNC) % _CODED_BITS
    shape = (COLUMNS_PER_PERIOD, N_PAIRS)
    repeat = (SUPER_PERIODS, 1)
    sync = np.tile(sync.reshape(shape), repeat)
    sync_conj = np.where(sync, np.exp(-2j * np.pi * dither / STEPS_DB), 0)
    return _Layout(dither, sync, np.tile(bit_index.reshape(shape), repeat), np.conj(sync_conj),
                   sfft.fft(sync_conj.astype(np.complex64), axis=0), sfft.rfft(sync.astype(np.float32), axis=0))


# --- payload coding ------------------------------------------------------------------------


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _to_bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _info_bits(payload: bytes) -> np.ndarray:
    bits = _to_bits(int.from_bytes(payload, "big"), PAYLOAD_BYTES * 8) + _to_bits(_crc16(payload), _CRC_BITS)
    return np.array(bits, dtype=np.int64)


def _parity(value: int) -> int:
    return bin(value).count("1") & 1


@functools.lru_cache(maxsize=1)
def _trellis() -> tuple[np.ndarray, np.ndarray]:
    """For each next state: its two predecessor states and the two coded output bits of each branch."""
    n_states = 1 << (_K - 1)
    predecessors = np.zeros((n_states, 2), dtype=np.int64)
    outputs = np.zeros((n_states, 2, 2), dtype=np.int64)
    for state in range(n_states):
        for bit in (0, 1):
            register = (bit << (_K - 1)) | state
            nxt = register >> 1
            slot = state & 1
            predecessors[nxt, slot] = state
            outputs[nxt, slot] = [_parity(register & g) for g in _GENERATORS]
    return predecessors, outputs


def _convolve(info: np.ndarray) -> np.ndarray:
    state = 0
    coded = []
    for bit in list(info) + [0] * (_K - 1):
        register = (int(bit) << (_K - 1)) | state
        coded.extend(_parity(register & g) for g in _GENERATORS)
        state = register >> 1
    return np.array(coded, dtype=np.int64)


def _viterbi(soft: np.ndarray) -> np.ndarray:
    """Soft-decision Viterbi; ``soft`` > 0 means coded bit 0. Terminated trellis (ends in state 0)."""
    predecessors, outputs = _trellis()
    signs = 1.0 - 2.0 * outputs  # [S, 2, 2]
    n_steps = soft.size // 2
    metric = np.full(predecessors.shape[0], -np.inf)
    metric[0] = 0.0
    choices = np.zeros((n_steps, predecessors.shape[0]), dtype=np.int64)
    for step in range(n_steps):
        branch = signs @ soft[2 * step:2 * step + 2]  # [S, 2]
        candidates = metric[predecessors] + branch
        choice = np.argmax(candidates, axis=1)
        choices[step] = choice
        metric = candidates[np.arange(candidates.shape[0]), choice]
    state = 0
    bits = np.zeros(n_steps, dtype=np.int64)
    for step in range(n_steps - 1, -1, -1):
        bits[step] = state >> (_K - 2)  # the newest input bit is the state's top bit
        state = predecessors[state, choices[step, state]]
    return bits[:_INFO_BITS]


def _coded_pattern(payload: bytes, layout: _Layout) -> np.ndarray:
    """Coded bit (0/1) carried at every period position; sync positions carry 0."""
    coded = _convolve(_info_bits(payload))
    return np.where(layout.sync, 0, coded[np.maximum(layout.bit_index, 0)])


def _payload_from_info(info: np.ndarray) -> tuple[bytes, bool]:
    value = int("".join(str(int(b)) for b in info), 2)
    payload = (value >> _CRC_BITS).to_bytes(PAYLOAD_BYTES, "big")
    return payload, (value & 0xFFFF) == _crc16(payload)


# --- signal analysis -----------------------------------------------------------------------


def _to_internal(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if sample_rate == INTERNAL_RATE:
        return samples
    ratio = Fraction(INTERNAL_RATE, sample_rate)
    return resample_poly(samples, ratio.numerator, ratio.denominator)


def _from_internal(samples: np.ndarray, sample_rate: int, length: int) -> np.ndarray:
    if sample_rate != INTERNAL_RATE:
        ratio = Fraction(sample_rate, INTERNAL_RATE)
        samples = resample_poly(samples, ratio.numerator, ratio.denominator)
    out = np.zeros(length)
    out[:min(length, samples.size)] = samples[:length]
    return out


def _stft(x: np.ndarray) -> np.ndarray:
    n_frames = 1 + (x.size - N_FFT) // HOP if x.size >= N_FFT else 0
    if n_frames == 0:
        return np.zeros((0, N_FFT // 2 + 1), dtype=np.complex128)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n_frames]
    return sfft.rfft((frames * _WINDOW).astype(np.float32), axis=1)


def _istft(spectrum: np.ndarray, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of :func:`_stft` (Hann analysis and synthesis, hop N/4)."""
    n_frames = spectrum.shape[0]
    per_frame = N_FFT // HOP
    frames = (sfft.irfft(spectrum, n=N_FFT, axis=1) * _WINDOW).reshape(n_frames, per_frame, HOP)
    blocks = np.zeros((n_frames + per_frame, HOP))
    for k in range(per_frame):
        blocks[k:k + n_frames] += frames[:, k]
    out = blocks.ravel() / _OLA_NORM
    if out.size < length:
        out = np.concatenate([out, np.zeros(length - out.size)])
    return out[:length]


def _band_energy(spectrum: np.ndarray) -> np.ndarray:
    """[frames, N_BANDS] energies of the marked sub-bands."""
    power = np.abs(spectrum[:, FIRST_BIN:FIRST_BIN + N_BANDS * BINS_PER_BAND]) ** 2
    return power.reshape(power.shape[0], N_BANDS, BINS_PER_BAND).sum(axis=2)


@dataclass(frozen=True)
class _Warp:
    """One point of the warp grid: ``k`` steps along line ``line`` of _WARP_LINES (k = 0: identity)."""
    line: int
    k: int

    @property
    def time_scale(self) -> float:
        return math.exp(_WARP_LINES[self.line][0] * self.k * _WARP_STEP)

    @property
    def freq_scale(self) -> float:
        return math.exp(_WARP_LINES[self.line][1] * self.k * _WARP_STEP)


def _warp_grid(every: int = 1) -> list[_Warp]:
    """Every warp the search may pick (every=1), or the coarse subset; the identity excluded."""
    return [_Warp(line, k) for line, (_, _, reach) in enumerate(_WARP_LINES)
            for k in range(-reach, reach + 1) if k and k % every == 0]


def _scaled_band_energy(power: np.ndarray, cumulative: np.ndarray, freq_scale: float) -> np.ndarray:
    """[frames, N_BANDS] energies of the original sub-bands when every frequency was multiplied by
    ``freq_scale``: the received power between the scaled band edges, bins split where an edge falls
    inside them. ``cumulative`` is the power summed over bins, with a leading column of zeros.

    Elementwise only (no BLAS call, so no thread pool is woken for it in a busy service).
    """
    # Bin k covers [k - 0.5, k + 0.5); an edge at x falls at cumulative index x + 0.5.
    edges = (FIRST_BIN + BINS_PER_BAND * np.arange(N_BANDS + 1) - 0.5) * freq_scale + 0.5
    index = np.minimum(np.floor(edges).astype(np.int64), power.shape[1] - 1)
    at_edges = cumulative[:, index] + (edges - index) * power[:, index]
    return (at_edges[:, 1:] - at_edges[:, :-1]).astype(np.float32)


def _retimed(bands: np.ndarray, scale: float, pivot: float = 0.0, received_pivot: float = 0.0) -> np.ndarray:
    """[frames, N_BANDS] band energies on the original timeline, from the received ``bands``.

    Original frame m is read at received frame ``received_pivot + (m - pivot) * scale`` (linear
    interpolation between frames; frames outside the clip are empty).
    """
    n = bands.shape[0]
    count = max(0, int(pivot + (n - 1 - received_pivot) / scale) + 1)
    position = received_pivot + (np.arange(count) - pivot) * scale
    inside = (position >= 0) & (position <= n - 1)
    position = np.clip(position, 0, n - 1)
    first = np.floor(position).astype(np.int64)
    second = np.minimum(first + 1, n - 1)
    frac = (position - first)[:, None].astype(np.float32)
    out = bands[first] * (1 - frac) + bands[second] * frac
    out[~inside] = 0.0
    return out


def _tile_energy(band_energy: np.ndarray, phase: int = 0) -> np.ndarray:
    """[columns, N_BANDS]: sum over the FRAMES_PER_TILE frames of each tile, starting at ``phase``."""
    usable = (band_energy.shape[0] - phase) // FRAMES_PER_TILE
    trimmed = band_energy[phase:phase + usable * FRAMES_PER_TILE]
    return trimmed.reshape(usable, FRAMES_PER_TILE, N_BANDS).sum(axis=1)


def _ratio_db(tiles: np.ndarray) -> np.ndarray:
    """[columns, N_PAIRS] energy ratio of each band pair (2p, 2p+1), in dB."""
    eps = 1e-12
    return 10.0 * np.log10((tiles[:, 0::2] + eps) / (tiles[:, 1::2] + eps))


# --- embedding -----------------------------------------------------------------------------


def _mark_internal(x8: np.ndarray, first_column: int, payload: bytes, key: bytes) -> np.ndarray:
    """The additive mark (at 8 kHz) for a buffer whose first sample is column ``first_column``'s start."""
    layout = _layout(key)
    bits = _coded_pattern(payload, layout)
    # One column of zero context on the left (so column boundaries stay on the global grid and every
    # frame touching the buffer exists), and enough on the right to finish the last column.
    tile_len = FRAMES_PER_TILE * HOP
    pad = tile_len
    n_columns = -(-(x8.size + pad) // tile_len) + 1
    padded = np.zeros(n_columns * tile_len + N_FFT)
    padded[pad:pad + x8.size] = x8
    start = 0
    spectrum = _stft(padded)
    n_columns = spectrum.shape[0] // FRAMES_PER_TILE
    spectrum = spectrum[:n_columns * FRAMES_PER_TILE]
    columns = first_column - 1 + np.arange(n_columns)
    positions = np.mod(columns, SUPER_COLUMNS)
    dither = layout.dither[positions]
    lattice = dither + bits[positions] * (STEPS_DB / 2)
    host_tiles = _tile_energy(_band_energy(spectrum))
    ratio = _ratio_db(host_tiles)
    # Split each ratio change between the two bands so as to minimise the added energy: the weaker
    # band takes most of it (it is also the one its louder neighbour masks).
    share_a = (host_tiles[:, 1::2] + 1e-12) / (host_tiles[:, 0::2] + host_tiles[:, 1::2] + 2e-12)
    # Nearest lattice point (spacing STEPS_DB) to the host's ratio: the host does not interfere.
    target = lattice + STEPS_DB * np.round((ratio - lattice) / STEPS_DB)
    gain_db = np.zeros((n_columns, N_PAIRS))
    for _ in range(EMBED_ITERATIONS):
        # gain_db is the change of each pair's ratio (dB); one band goes up, the other down.
        gain_db = np.clip(gain_db + (target - ratio), -STEPS_DB, STEPS_DB)
        band_gain = np.empty((n_columns, N_BANDS))
        band_gain[:, 0::2] = 10.0 ** (gain_db * share_a / 20.0)
        band_gain[:, 1::2] = 10.0 ** (-gain_db * (1.0 - share_a) / 20.0)
        band_bins = slice(FIRST_BIN, FIRST_BIN + N_BANDS * BINS_PER_BAND)
        excess = np.repeat(np.repeat((band_gain - 1.0).astype(np.float32), FRAMES_PER_TILE, axis=0),
                           BINS_PER_BAND, axis=1)
        mark_spectrum = np.zeros_like(spectrum)
        mark_spectrum[:, band_bins] = spectrum[:, band_bins] * excess
        mark = _istft(mark_spectrum, padded.size - start)
        marked = padded[start:] + mark
        ratio = _ratio_db(_tile_energy(_band_energy(_stft(marked)[:n_columns * FRAMES_PER_TILE])))
    offset = pad - start
    return mark[offset:offset + x8.size]


def _check_payload(payload: bytes) -> None:
    if not isinstance(payload, (bytes, bytearray)) or len(payload) != PAYLOAD_BYTES:
        raise ValueError(f"the watermark payload must be exactly {PAYLOAD_BYTES} bytes (32 bits)")


def _alignment_unit(sample_rate: int) -> int:
    """Host samples per tile column group that maps to a whole number of internal samples."""
    return sample_rate * 5 * FRAMES_PER_TILE * HOP // INTERNAL_RATE  # 5 columns = 0.32 s


def _mark_host(samples: np.ndarray, sample_rate: int, payload: bytes, key: bytes, first_column: int) -> np.ndarray:
    x8 = _to_internal(samples, sample_rate)
    mark8 = _mark_internal(x8, first_column, payload, key)
    return _from_internal(mark8, sample_rate, samples.size)


def embed(audio: np.ndarray, sample_rate: int, payload: bytes, *, key: bytes = DEFAULT_KEY) -> np.ndarray:
    """Return ``audio`` (float mono) with the 32-bit ``payload`` marked throughout."""
    _check_payload(payload)
    if sample_rate * 8 % 25:  # 0.32 s must be a whole number of samples (all common rates are)
        raise ValueError(f"sample rate {sample_rate} Hz is not supported")
    samples = np.asarray(audio, dtype=np.float64)
    marked = samples + _mark_host(samples, sample_rate, bytes(payload), key, 0)
    return np.clip(marked, -1.0, 1.0).astype(np.float32)


class StreamingEmbedder:
    """Marks a stream chunk by chunk on the same global tile grid as :func:`embed`.

    Latency: output lags input by 0.32-0.64 s (one block of right context is needed so that the
    tiles at a block edge are analysed whole). ``flush()`` returns the rest.
    """

    def __init__(self, sample_rate: int, payload: bytes, *, key: bytes = DEFAULT_KEY):
        _check_payload(payload)
        if sample_rate * 8 % 25:
            raise ValueError(f"sample rate {sample_rate} Hz is not supported")
        self.sample_rate = sample_rate
        self.payload = bytes(payload)
        self.key = key
        self._block = _alignment_unit(sample_rate)
        self._context = np.zeros(0)  # already-emitted host samples kept as left context (one block)
        self._pending = np.zeros(0)
        self._emitted_blocks = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        self._pending = np.concatenate([self._pending, np.asarray(chunk, dtype=np.float64).ravel()])
        ready_blocks = self._pending.size // self._block - 1  # keep one block as right context
        if ready_blocks <= 0:
            return np.zeros(0, dtype=np.float32)
        return self._emit(ready_blocks * self._block)

    def flush(self) -> np.ndarray:
        if self._pending.size == 0:
            return np.zeros(0, dtype=np.float32)
        return self._emit(self._pending.size)

    def _emit(self, count: int) -> np.ndarray:
        buffer = np.concatenate([self._context, self._pending])
        context_blocks = self._context.size // self._block
        first_column = (self._emitted_blocks - context_blocks) * 5
        mark = _mark_host(buffer, self.sample_rate, self.payload, self.key, first_column)
        start = self._context.size
        out = np.clip(buffer[start:start + count] + mark[start:start + count], -1.0, 1.0)
        emitted = self._pending[:count]
        self._pending = self._pending[count:]
        self._context = np.concatenate([self._context, emitted])[-self._block:]
        if self._context.size < self._block:
            self._context = np.zeros(0)
        self._emitted_blocks += count // self._block
        return out.astype(np.float32)


# --- detection -----------------------------------------------------------------------------


def _percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, qs)`` (linear interpolation) from one partial sort: the detector calls
    it for every tile phase of every warp, where np.percentile's own overhead was 10% of the search."""
    positions = [q / 100.0 * (values.size - 1) for q in qs]
    below = [math.floor(position) for position in positions]
    above = [min(b + 1, values.size - 1) for b in below]
    ordered = np.partition(values, sorted(set(below + above)))
    return [float(ordered[b] + (ordered[a] - ordered[b]) * (position - b))
            for position, b, a in zip(positions, below, above)]


def _reliability(tiles: np.ndarray) -> np.ndarray:
    """[columns, N_PAIRS] weight in [0, 1] of each pair, from the weaker band's level above the floor.

    Depends only on energies (never on the key), which the false-positive bound requires. Gain
    invariant: levels are relative to the clip's own percentiles.
    """
    level = 10.0 * np.log10(np.minimum(tiles[:, 0::2], tiles[:, 1::2]) + 1e-20)
    if level.size == 0:
        return level
    loud, quiet = _percentiles(level.ravel(), (98.0, 20.0))
    floor = max(quiet, loud - 60.0)
    return np.clip((level - floor - 3.0) / 12.0, 0.0, 1.0)


def _phasors(tiles: np.ndarray) -> np.ndarray:
    return _reliability(tiles) * np.exp(2j * np.pi * _ratio_db(tiles) / STEPS_DB)


def _window_starts(n_columns: int, step: int = _WINDOW_STEP) -> np.ndarray:
    if n_columns <= _WINDOW_COLUMNS:
        return np.array([0])
    starts = np.arange(0, n_columns - _WINDOW_COLUMNS + 1, step)
    if starts[-1] != n_columns - _WINDOW_COLUMNS:
        starts = np.append(starts, n_columns - _WINDOW_COLUMNS)
    return starts


def _windowed_sum(values: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Sum of ``values[..., s:s+width]`` for each start (last axis)."""
    cumulative = np.concatenate([np.zeros(values.shape[:-1] + (1,)), np.cumsum(values, axis=-1)], axis=-1)
    ends = np.minimum(starts + width, values.shape[-1])
    return cumulative[..., ends] - cumulative[..., starts]


@dataclass
class _Hypothesis:
    phase: int
    shift: int
    window: int
    z: float


def _sync_search(band_energy: np.ndarray, layout: _Layout, phases=range(FRAMES_PER_TILE),
                 keep: int = _CANDIDATES, window_step: int = _WINDOW_STEP) -> tuple[list[_Hypothesis], dict, dict]:
    """Sync statistic of every (phase, shift, window), by circular cross-correlation in the FFT domain;
    the best ``keep`` shifts of each phase, best first."""
    sync_spectrum, mask_spectrum = layout.sync_spectrum, layout.mask_spectrum
    shifts = np.arange(SUPER_COLUMNS)
    found: list[_Hypothesis] = []
    phasors_by_phase = {}
    starts_by_phase = {}  # phases can differ by one column, hence in their windows
    for phase in phases:
        tiles = _tile_energy(band_energy, phase)
        if tiles.shape[0] == 0:
            continue
        z = _phasors(tiles)
        phasors_by_phase[phase] = z
        n = z.shape[0]
        starts = starts_by_phase[phase] = _window_starts(n, window_step)
        width = min(_WINDOW_COLUMNS, n)
        windows = np.zeros((len(starts), SUPER_COLUMNS, N_PAIRS), dtype=np.complex64)
        for i, start in enumerate(starts):
            windows[i, :width] = z[start:start + width]
        # corr[w, s] = sum_j sum_p window[w, j, p] * sync_conj[(j + s) % Q, p]
        numerator = np.real(sfft.ifft(np.einsum("wqp,qp->wq", np.conj(sfft.fft(np.conj(windows), axis=1)),
                                                sync_spectrum), axis=1))
        power = (windows.real ** 2 + windows.imag ** 2).astype(np.float32)
        denominator = sfft.irfft(np.einsum("wqp,qp->wq", np.conj(sfft.rfft(power, axis=1)), mask_spectrum),
                                 n=SUPER_COLUMNS, axis=1)
        # Window w starting at column s0 under global shift s uses correlation lag s0 + s.
        lags = np.mod(starts[:, None] + shifts[None, :], SUPER_COLUMNS)
        rows = np.arange(len(starts))[:, None]
        scores = numerator[rows, lags] / np.sqrt(np.maximum(denominator[rows, lags], 1e-12))  # [W, S]
        best_windows = np.argmax(scores, axis=0)
        best_scores = scores[best_windows, shifts]
        for shift in np.argsort(-best_scores)[:keep]:
            found.append(_Hypothesis(phase, int(shift), int(best_windows[shift]), float(best_scores[shift])))
    found.sort(key=lambda h: -h.z)
    return found, phasors_by_phase, starts_by_phase


def _sync_z(z: np.ndarray, shift: int, layout: _Layout) -> float:
    """Sync statistic of the whole clip under one alignment."""
    position = np.mod(np.arange(z.shape[0]) + shift, SUPER_COLUMNS)
    sync_conj = np.conj(layout.sync_phasors)[position]
    gain = float(np.real(np.sum(z * sync_conj)))
    return gain / (math.sqrt(float(np.sum((z.real ** 2 + z.imag ** 2) * layout.sync[position]))) + 1e-9)


def _window_sync_scores(z: np.ndarray, shift: int, layout: _Layout, starts: np.ndarray) -> np.ndarray:
    position = np.mod(np.arange(z.shape[0]) + shift, SUPER_COLUMNS)
    sync_conj = np.conj(layout.sync_phasors)[position]
    gain = np.real(np.sum(z * sync_conj, axis=1))
    power = np.sum(np.abs(z) ** 2 * layout.sync[position], axis=1)
    width = min(_WINDOW_COLUMNS, z.shape[0])
    return _windowed_sum(gain, starts, width) / (np.sqrt(_windowed_sum(power, starts, width)) + 1e-9)


def _fold(z: np.ndarray, shift: int, columns: slice) -> np.ndarray:
    """Place the phasors on the super-period grid [SUPER_COLUMNS, P]; clips longer than one super-period
    fold (repeated dithers add coherently, which the bound's normalisation by |sum|^2 accounts for)."""
    folded = np.zeros((SUPER_COLUMNS, N_PAIRS), dtype=np.complex128)
    idx = np.arange(z.shape[0])[columns]
    np.add.at(folded, np.mod(idx + shift, SUPER_COLUMNS), z[columns])
    return folded


def _bound(hypotheses: float, z_score: float) -> float:
    """P(false detection) <= hypotheses x exp(-z^2): per hypothesis, z is a sum of a_j cos(U_j) over
    sqrt(sum a_j^2), the U_j independent and uniform on the circle (keyed dithers), and
    E exp(l a cos U) = I0(l a) <= exp(l^2 a^2 / 4), so Chernoff gives exp(-z^2) (docs/watermark.md)."""
    return min(1.0, hypotheses * math.exp(-z_score ** 2)) if z_score > 0 else 1.0


def _threshold_z(hypotheses: float) -> float:
    """The z at which :func:`_bound` equals FALSE_POSITIVE_TARGET."""
    return math.sqrt(math.log(hypotheses / FALSE_POSITIVE_TARGET))


def detect(audio: np.ndarray, sample_rate: int, *, key: bytes = DEFAULT_KEY) -> Detection:
    """Look for the mark, also under playback-speed, tempo and pitch changes; return the payload when
    the false-positive bound is at most 1e-6."""
    layout = _layout(key)
    x8 = _to_internal(np.asarray(audio, dtype=np.float64).ravel(), sample_rate)
    spectrum = _stft(x8)
    if spectrum.shape[0] < FRAMES_PER_TILE * 4:
        return Detection(False, 0.0, None)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    unwarped = _detect_unwarped(_band_energy(spectrum), layout)
    if unwarped.detected:
        return unwarped
    warped = _detect_warped(x8, power, layout)
    return warped if warped.detected or warped.z_score > unwarped.z_score else unwarped


def _hypotheses(n_windows: int) -> float:
    """Union-bound count of one alignment grid: phase x shift x contiguous run of windows x pair weighting
    x valid codeword."""
    return (FRAMES_PER_TILE * SUPER_COLUMNS * n_windows * (n_windows + 1) / 2 * len(_PAIR_WEIGHTS)
            * 2.0 ** (8 * PAYLOAD_BYTES))


def _detect_unwarped(band_energy: np.ndarray, layout: _Layout) -> Detection:
    """Today's search on the received grid, holding _IDENTITY_SHARE of the false-positive budget."""
    candidates, phasors_by_phase, starts_by_phase = _sync_search(band_energy, layout)
    n_windows = max(len(starts) for starts in starts_by_phase.values())
    hypotheses = _hypotheses(n_windows) / _IDENTITY_SHARE
    threshold = _threshold_z(hypotheses)
    best: Detection | None = None
    seen: set[tuple[int, int]] = set()
    for hyp in candidates:
        if (hyp.phase, hyp.shift) in seen:
            continue
        seen.add((hyp.phase, hyp.shift))
        if len(seen) > _CANDIDATES:
            break
        result = _decode_hypothesis(phasors_by_phase[hyp.phase], hyp, layout, starts_by_phase[hyp.phase],
                                    hypotheses, threshold)
        if best is None or result.z_score > best.z_score:
            best = result
    assert best is not None
    return best


def _resampled_power(x8: np.ndarray, freq_scale: float) -> tuple[np.ndarray, np.ndarray, float]:
    """STFT power (float64) of ``x8`` resampled by ``ratio`` ~ ``freq_scale``, so a spectrum scaled by
    ``freq_scale`` is back on the original bins (and the clip ``ratio`` times longer); its cumulative
    sum over bins (for :func:`_scaled_band_energy`), and ``ratio``."""
    ratio = Fraction(freq_scale).limit_denominator(_RESAMPLE_DENOMINATOR)
    spectrum = _stft(resample_poly(x8, ratio.numerator, ratio.denominator))
    return *_power_and_cumulative(spectrum.real ** 2 + spectrum.imag ** 2), float(ratio)


def _power_and_cumulative(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power as float64 (a quiet band's energy is a difference of two large running totals) and its
    sum over bins with a leading column of zeros, as :func:`_scaled_band_energy` reads them."""
    power = power.astype(np.float64)
    return power, np.concatenate([np.zeros((power.shape[0], 1)), np.cumsum(power, axis=1)], axis=1)


def _detect_warped(x8: np.ndarray, power: np.ndarray, layout: _Layout) -> Detection:
    """Coarse-to-fine search over the warp grid, holding the rest of the false-positive budget.

    Coarse: every 1% warp (0.5% for a short clip, up to 6 s), four tile phases (the pitch line's
    warps, and a short clip's speed warps too, read from the resampled waveform: the second
    reading), the best sync alignment of each (a short clip's best _COARSE_DECODES_SHORT, decoded as
    they are and ranked by decoded z instead of sync). Fine: around each of the best _COARSE_KEEP,
    the neighbouring grid warps, re-anchored at the centre of the window the sync found (so the alignment found there stays valid) and shifted by each of _FINE_OFFSETS frames;
    the _FINE_DECODES of these with the best whole-clip sync are decoded, and those whose warp scales
    frequency are read and decoded a second time from the waveform resampled back onto the original
    bins (_READINGS). The union bound counts every fine warp x reading x
    anchor window x coarse phase x offset (and the unshifted coarse reading of a short clip) x shift x
    window run x codeword, whether or not the search visited it.
    """
    power, cumulative = _power_and_cumulative(power)
    bands = functools.lru_cache(maxsize=None)(lambda freq_scale: _scaled_band_energy(power, cumulative, freq_scale))
    resampled = functools.lru_cache(maxsize=None)(lambda freq_scale: _resampled_power(x8, freq_scale))
    coarse: list[tuple[float, _Warp, _Hypothesis, np.ndarray]] = []
    short = power.shape[0] <= _SHORT_CLIP_FRAMES
    every = _COARSE_EVERY_SHORT if short else _COARSE_EVERY

    def second_reading(near: _Warp, warp: _Warp, pivot: float = 0.0, received: float = 0.0) -> np.ndarray:
        """``warp`` read from the clip resampled by the frequency scale of the 1% grid point nearest
        ``near`` (one resampling serves its neighbours), the residual undone by scaled band edges. The
        resampled clip is `ratio` times longer, so received frame r is its frame r x ratio."""
        step = _WARP_LINES[near.line][1] * _COARSE_EVERY * round(near.k / _COARSE_EVERY) * _WARP_STEP
        power_r, cumulative_r, ratio = resampled(math.exp(step))
        stretched = _scaled_band_energy(power_r, cumulative_r, warp.freq_scale / ratio)
        return _retimed(stretched, warp.time_scale * ratio, pivot, received * ratio)

    # Windows of the longest original timeline any grid warp gives (a slowed-down clip has more); the
    # anchored re-reading below can lengthen it by a fraction of a percent and a frame or two.
    longest = 1.01 * (power.shape[0] + 3) / min(warp.time_scale for warp in _warp_grid())
    n_windows = len(_window_starts(int(longest) // FRAMES_PER_TILE))
    # + 1: a fine step may land on the identity. Both readings of a warp give the same original
    # timeline (the resampled clip's length and time scale are both `ratio` times the received ones).
    # A short clip's coarse decodes read each warp unshifted: one more offset (0) beside _FINE_OFFSETS.
    offsets = len(_FINE_OFFSETS) + (1 if short else 0)
    hypotheses = ((len(_warp_grid()) + 1) * _READINGS * n_windows * len(_COARSE_PHASES) * offsets / FRAMES_PER_TILE
                  * _hypotheses(n_windows) / (1.0 - _IDENTITY_SHARE))
    threshold = _threshold_z(hypotheses)
    coarse_decoded: list[Detection] = []
    for warp in _warp_grid(every):
        if warp.freq_scale != 1.0 and (short or _WARP_LINES[warp.line][0] == 0):
            retimed = second_reading(warp, warp)
        else:
            retimed = _retimed(bands(warp.freq_scale), warp.time_scale)
        keep = _COARSE_DECODES_SHORT if short else 1
        candidates, phasors_by_phase, starts_by_phase = _sync_search(retimed, layout, _COARSE_PHASES, keep=keep,
                                                                     window_step=_COARSE_WINDOW_STEP)
        for best in candidates[:keep]:
            rank = best.z
            if short:  # original frame m read at received frame m x time_scale
                result = _decode_hypothesis(phasors_by_phase[best.phase], best, layout, starts_by_phase[best.phase],
                                            hypotheses, threshold, warp, (warp.time_scale, 0.0))
                coarse_decoded.append(result)
                rank = result.z_score
            coarse.append((rank, warp, best, starts_by_phase[best.phase]))
    coarse.sort(key=lambda entry: -entry[0])
    best_result: Detection | None = None
    for _, warp, hyp, starts in coarse[:_COARSE_KEEP]:
        # The anchor: the centre of the window the sync found, in original frames, and where it was received.
        pivot = hyp.phase + (int(starts[hyp.window]) + _WINDOW_COLUMNS // 2) * FRAMES_PER_TILE
        received = pivot * warp.time_scale
        reach = _WARP_LINES[warp.line][2]
        variants = []
        for k in range(max(-reach, warp.k - every // 2), min(reach, warp.k + every // 2) + 1):
            fine = _Warp(warp.line, k)
            for offset in _FINE_OFFSETS:
                retimed = _retimed(bands(fine.freq_scale), fine.time_scale, pivot, received + offset)
                variants.append(_variant(retimed, hyp, starts, layout, fine, received + offset))
        variants.sort(key=lambda variant: -variant[0])
        decoded = []
        for rank, variant in enumerate(variants[:_FINE_DECODES]):
            decoded.append(variant)
            fine, anchor = variant[1], variant[5]
            if fine.freq_scale != 1.0 and rank < _SECOND_READS:
                # The second reading, from the resampling nearest the coarse warp (once per 1% point).
                retimed = second_reading(warp, fine, pivot, anchor)
                decoded.append(_variant(retimed, hyp, starts, layout, fine, anchor))
        for sync, fine, z, fine_starts, window, anchor in decoded:
            # Original frame m was received at anchor + (m - pivot) * time_scale.
            timeline = (fine.time_scale, (anchor - pivot * fine.time_scale) * HOP / INTERNAL_RATE)
            result = _decode_hypothesis(z, _Hypothesis(hyp.phase, hyp.shift, window, sync), layout, fine_starts,
                                        hypotheses, threshold, fine, timeline)
            if best_result is None or (result.detected, result.z_score) > (best_result.detected, best_result.z_score):
                best_result = result
        if best_result is not None and best_result.detected:
            break
    # A short clip's coarse decodes: one may pass where the refined readings of its warp, ranked by
    # their sync, did not (the refined result wins ties).
    results = ([best_result] if best_result is not None else []) + coarse_decoded
    if not results:
        return Detection(False, 0.0, None)
    return max(results, key=lambda r: (r.detected, r.z_score))


def _variant(retimed: np.ndarray, hyp: _Hypothesis, starts: np.ndarray, layout: _Layout, fine: _Warp,
             anchor: float) -> tuple:
    """One re-anchored reading of the coarse alignment ``hyp``: (whole-clip sync, warp, phasors,
    windows, the window nearest the coarse one, the received frame of the anchor)."""
    z = _phasors(_tile_energy(retimed, hyp.phase))
    fine_starts = _window_starts(z.shape[0])
    window = int(np.argmin(np.abs(fine_starts - starts[hyp.window])))
    # Ranked by the sync over the whole clip: the anchored window alone is too noisy a guide.
    return _sync_z(z, hyp.shift, layout), fine, z, fine_starts, window, anchor


def _decode_hypothesis(z: np.ndarray, hyp: _Hypothesis, layout: _Layout, starts: np.ndarray,
                       hypotheses: float, threshold: float, warp: _Warp = _Warp(0, 0),
                       timeline: tuple[float, float] = (1.0, 0.0)) -> Detection:
    width = min(_WINDOW_COLUMNS, z.shape[0])
    window_scores = _window_sync_scores(z, hyp.shift, layout, starts)
    first = last = hyp.window
    while first > 0 and window_scores[first - 1] >= _REGION_SYNC_Z:
        first -= 1
    while last + 1 < len(starts) and window_scores[last + 1] >= _REGION_SYNC_Z:
        last += 1
    # The grown region, and the best window alone (unmarked neighbours can dilute a grown region);
    # both are contiguous runs of windows, which the bound already counts.
    best = int(starts[hyp.window])
    regions = {(int(starts[first]), int(starts[last]) + width), (best, best + width)}
    payload, crc_ok, z_score = min((_decode_region(z * weights, hyp.shift, layout, slice(*r))
                                    for r in sorted(regions) for weights in _PAIR_WEIGHTS),
                                   key=lambda result: (not result[1], -result[2]))
    bound = _bound(hypotheses, z_score)
    detected = crc_ok and bound <= FALSE_POSITIVE_TARGET
    confidence = _confidence(bound)
    segments = _segments(z, hyp, layout, payload, timeline) if detected else []
    return Detection(detected, confidence, payload if detected else None, segments, z_score, bound, threshold,
                     crc_ok, int(hypotheses), payload, round(warp.time_scale, 4),
                     round(warp.freq_scale, 4))


def _decode_region(z: np.ndarray, shift: int, layout: _Layout, region: slice) -> tuple[bytes, bool, float]:
    """Soft-decode the payload from the tiles in ``region`` and score the re-encoded pattern."""
    folded = _fold(z, shift, region)
    soft_positions = np.real(folded * np.exp(-2j * np.pi * layout.dither / STEPS_DB))
    soft = np.zeros(_CODED_BITS)
    data = ~layout.sync
    np.add.at(soft, layout.bit_index[data], soft_positions[data])
    payload, crc_ok = _payload_from_info(_viterbi(soft))
    expected = 1.0 - 2.0 * _coded_pattern(payload, layout)  # +1 for bit 0
    norm = math.sqrt(float(np.sum(np.abs(folded) ** 2))) + 1e-12
    return payload, crc_ok, float(np.sum(soft_positions * expected)) / norm


def _confidence(bound: float) -> float:
    """0 at a bound of 1, 0.5 at the 1e-6 target, 1 at 1e-12 or below (log scale)."""
    if bound <= 0:
        return 1.0
    return float(np.clip(-math.log10(bound) / 12.0, 0.0, 1.0)) + 0.0  # never -0.0


def _segments(z: np.ndarray, hyp: _Hypothesis, layout: _Layout, payload: bytes,
              timeline: tuple[float, float] = (1.0, 0.0)) -> list[tuple[float, float]]:
    """Seconds of the received clip that carry the mark: local correlation with the decoded codeword,
    ~0.8 s windows; ``timeline`` = (scale, offset) maps original seconds to received ones."""
    n = z.shape[0]
    position = np.mod(np.arange(n) + hyp.shift, SUPER_COLUMNS)
    expected_phase = np.exp(-2j * np.pi * layout.dither / STEPS_DB) * (1.0 - 2.0 * _coded_pattern(payload, layout))
    gain = np.real(np.sum(z * expected_phase[position], axis=1))
    power = np.sum(np.abs(z) ** 2, axis=1)
    if n <= _LOCAL_COLUMNS:
        local_starts = np.array([0])
    else:
        local_starts = np.arange(0, n - _LOCAL_COLUMNS + 1, _LOCAL_STEP)
    width = min(_LOCAL_COLUMNS, n)
    num = _windowed_sum(gain, local_starts, width)
    den = _windowed_sum(power, local_starts, width)
    carried = np.zeros(n, dtype=bool)
    for start, g, p in zip(local_starts, num, den):
        if p > 1e-6 and g / math.sqrt(p) >= _LOCAL_Z:
            carried[start:start + width] = True
    scale, shift_s = timeline
    column_seconds = FRAMES_PER_TILE * HOP / INTERNAL_RATE * scale
    offset = hyp.phase * HOP / INTERNAL_RATE * scale + shift_s
    segments: list[list[float]] = []
    for c in np.flatnonzero(carried):
        begin = offset + c * column_seconds
        end = begin + column_seconds + (N_FFT - HOP) / INTERNAL_RATE * scale
        if segments and begin - segments[-1][1] <= 0.5:
            segments[-1][1] = end
        else:
            segments.append([begin, end])
    return [(round(max(a, 0.0), 3), round(b, 3)) for a, b in segments]
