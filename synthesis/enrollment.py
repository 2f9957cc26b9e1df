"""Voice enrollment: find a Kokoro style pack (and pitch shift) that sounds like the owner.

Kokoro has no speaker encoder; a voice is a 256-d style vector per input length. We search that
space against the owner's reference clips, improving on KVoiceWalk's random walk / CMA-ES:

1. Better start: every stock pack is scored; the start is the better of the best pack and the
   similarity-weighted (softmax) blend of all five.
2. F0 matching: a pitch shift (applied after synthesis, duration-compensated) is fitted
   analytically so the candidate's median F0 equals the owner's, and refitted as the style moves.
3. Timbre by gradient: the timbre half (dims 0-127) only feeds Kokoro's decoder, so with the
   prosody half fixed the decoder's inputs for the calibration sentences are fixed; a torch copy
   of the decoder (synthesis.engines.kokoro_torch) and of Resemblyzer's front end
   (synthesis.enrollment_gradient) give the gradient of the objective, and Adam follows it on
   random 1.2 s crops. Whole sentences are checked every few steps; the engine's ONNX model
   judges the result. Measured: +0.15-0.2 held-out similarity in 5-7 steps, where the ES below
   gained about +0.1 in 100 evaluations.
4. Prosody by evolution strategy: an elitist antithetic ES with momentum and success-based step
   sizes on the prosody half (128-255), per-dimension steps from the stock voices' spread, with
   the pitch refitted as it goes, on whatever budget is left.
5. More than one objective: Resemblyzer similarity to the owner's centroid, minus penalties for
   F0 distance (semitones), spectral-envelope (MFCC) distance, and straying beyond the stock
   voices' spread (which keeps speech natural rather than gaming the encoder).

Everything runs within ``budget_s`` seconds (5 minutes at most on 2 cores at full budget). The
ONNX session and the torch decoder are never loaded together, so the two memory peaks do not
add up (peak RSS about 1.3 GB, bench/enrollment.py).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voicegate.audio import resample
from voicegate.errors import DomainError

from synthesis.engines.base import SynthesisOptions
from synthesis.profile import STYLE_DIM, VoiceProfile

ANALYSIS_RATE = 16000
MAX_BUDGET_S = 300.0
# Calibration sentences the candidates speak (never the owner's own sentences, so the search
# cannot learn the text); short, phonetically varied.
CALIBRATION_TEXT = {
    "en": ("Could you check the numbers before the meeting starts?",
           "The morning train was late again, so we walked along the river."),
    "zh": ("会议开始之前，你能再核对一下这些数字吗？", "今天早上的火车又晚点了，我们沿着河边走了回去。"),
    "ja": ("会議の前に数字を確認してもらえますか？", "今朝の電車はまた遅れたので、川沿いを歩いて帰りました。"),
}
W_F0 = 0.015        # per semitone of median-F0 distance
W_SPECTRAL = 0.004  # per unit of MFCC distance
W_RANGE = 0.02      # per unit of (normalised) distance beyond the stock packs' spread


class EnrollmentFailed(DomainError):
    code = "enrollment_failed"


@dataclass
class VoiceTarget:
    embedding: np.ndarray
    f0_median_hz: float
    f0_range_st: float
    mfcc_mean: np.ndarray


@dataclass
class EnrollmentResult:
    profile: VoiceProfile
    similarity_before: float  # best stock pack, on the calibration sentences
    similarity_after: float
    history: list[dict] = field(default_factory=list)
    best_stock_voice: str = ""
    evaluations: int = 0
    elapsed_s: float = 0.0


# ------------------------------------------------------------------ measurements
def f0_track(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 (Hz) of voiced frames: YIN, with frames kept only where there is energy and a clear period."""
    import librosa

    audio = resample(np.asarray(samples, np.float32), sample_rate, ANALYSIS_RATE)
    if audio.size < 2048:
        return np.zeros(0, np.float32)
    f0 = librosa.yin(audio, fmin=60, fmax=450, sr=ANALYSIS_RATE, frame_length=1024, hop_length=160,
                     trough_threshold=0.1)
    rms = librosa.feature.rms(y=audio, frame_length=1024, hop_length=160)[0][: f0.size]
    voiced = (rms > 0.15 * np.max(rms)) & (f0 > 62) & (f0 < 440)
    return f0[voiced].astype(np.float32)


def f0_statistics(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(median F0 in Hz, range in semitones between the 10th and 90th percentiles)."""
    f0 = f0_track(samples, sample_rate)
    if f0.size < 5:
        return 0.0, 0.0
    low, median, high = np.percentile(f0, [10, 50, 90])
    return float(median), float(12 * np.log2(high / low))


def mfcc_mean(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean MFCCs 1-19 over loud frames: the average spectral envelope, free of loudness (c0)."""
    import librosa

    audio = resample(np.asarray(samples, np.float32), sample_rate, ANALYSIS_RATE)
    mfcc = librosa.feature.mfcc(y=audio, sr=ANALYSIS_RATE, n_mfcc=20, n_fft=512, hop_length=160)
    loud = mfcc[0] > np.percentile(mfcc[0], 40)
    return mfcc[1:, loud].mean(axis=1).astype(np.float32)


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def semitones_between(a_hz: float, b_hz: float) -> float:
    if a_hz <= 0 or b_hz <= 0:
        return 0.0
    return float(12 * np.log2(a_hz / b_hz))


def describe_voice(clips: list[tuple[np.ndarray, int]]) -> VoiceTarget:
    from consent.speaker import embed_speaker, mean_embedding

    if not clips:
        raise EnrollmentFailed("enrollment needs at least one reference clip of the owner")
    joined = np.concatenate([resample(np.asarray(s, np.float32), sr, ANALYSIS_RATE) for s, sr in clips])
    embedding = mean_embedding([embed_speaker(s, sr) for s, sr in clips])
    median, spread = f0_statistics(joined, ANALYSIS_RATE)
    if median <= 0:
        raise EnrollmentFailed("the reference clips contain too little voiced speech to measure pitch")
    return VoiceTarget(embedding, median, spread, mfcc_mean(joined, ANALYSIS_RATE))


# ------------------------------------------------------------------ search
def _release_memory() -> None:
    """Hand freed heap pages back to the OS between the ONNX and the torch phases, so their peaks
    do not add up in the worker's resident size (glibc keeps freed tensors' pages otherwise)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_now_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return round(int(handle.read().split()[1]) * 4096 / 2**20, 1)
    except OSError:
        return 0.0


def objective(info: dict) -> float:
    """What the search maximises: similarity minus the F0 and spectral-envelope penalties."""
    return info["similarity"] - W_F0 * info["f0_gap_st"] - W_SPECTRAL * info["spectral_distance"]


class _Evaluator:
    """Speaks the calibration sentences with a candidate (the engine's ONNX model) and scores it."""

    def __init__(self, target: VoiceTarget, language: str, sentences: int):
        from synthesis.engines.kokoro import MAX_TOKENS, tokenize
        from synthesis.frontend import prepare_text

        texts = CALIBRATION_TEXT.get(language, CALIBRATION_TEXT["en"])[:sentences]
        units = [u for text in texts for u in prepare_text(text, language if language in CALIBRATION_TEXT else "en")]
        self.tokens = [tokenize(u.phonemes)[:MAX_TOKENS] for u in units]
        self.tokens = [t for t in self.tokens if t]
        self.target = target
        self.evaluations = 0
        self.session = None
        self.recent_seconds: list[float] = []  # the last few evaluations' durations

    def open(self) -> None:
        from synthesis.engines.kokoro import model_file, session_threads
        from synthesis.engines.kokoro_torch import InputSession

        if self.session is None:
            self.session = InputSession(model_file(), threads=session_threads())

    def close(self) -> None:
        self.session = None
        _release_memory()

    def rows(self, style: np.ndarray) -> np.ndarray:
        """The style rows the calibration sentences use, [sentences, 256]."""
        profile = VoiceProfile("kokoro", style)
        return np.concatenate([profile.style_for(len(tokens)) for tokens in self.tokens])

    def decoder_inputs(self, style: np.ndarray, pitch: float) -> list:
        """One ONNX run per sentence, as KokoroEngine.speak makes it (duration pre-compensated
        for the pitch shift); each result carries the engine's audio and the decoder's inputs."""
        from synthesis.engines.kokoro import model_speed

        self.open()
        speed = model_speed(1.0, pitch)
        return [self.session.run(tokens, row, speed) for tokens, row in zip(self.tokens, self.rows(style))]

    @staticmethod
    def audio(pieces: list[np.ndarray], pitch: float) -> np.ndarray:
        from synthesis.engines.kokoro import shift_pitch, trim_silence

        return np.concatenate([shift_pitch(trim_silence(np.asarray(p, np.float32)), pitch) for p in pieces])

    def measure(self, audio: np.ndarray) -> tuple[float, dict]:
        from consent.speaker import embed_speaker, speaker_similarity

        from synthesis.engines.kokoro import SAMPLE_RATE

        similarity = speaker_similarity(embed_speaker(audio, SAMPLE_RATE), self.target.embedding)
        median, _ = f0_statistics(audio, SAMPLE_RATE)
        f0_gap = abs(semitones_between(median, self.target.f0_median_hz)) if median else 12.0
        spectral = spectral_distance(mfcc_mean(audio, SAMPLE_RATE), self.target.mfcc_mean)
        info = {"similarity": similarity, "f0_median_hz": median, "f0_gap_st": f0_gap, "spectral_distance": spectral}
        return objective(info), info

    def score(self, style: np.ndarray, pitch: float) -> tuple[float, dict]:
        tick = time.monotonic()
        self.evaluations += 1
        inputs = self.decoder_inputs(style, pitch)
        result = self.measure(self.audio([d.audio for d in inputs], pitch))
        self.recent_seconds = (self.recent_seconds + [time.monotonic() - tick])[-5:]
        return result


def _blend(packs: dict[str, np.ndarray], similarities: dict[str, float], temperature: float = 0.01) -> np.ndarray:
    names = list(packs)
    scores = np.array([similarities[n] for n in names])
    weights = np.exp((scores - scores.max()) / temperature)
    weights /= weights.sum()
    return np.sum([w * packs[n] for w, n in zip(weights, names)], axis=0).astype(np.float32)


def _refit_pitch(evaluator: _Evaluator, style: np.ndarray, pitch: float, info: dict) -> float:
    """Move the pitch shift so the candidate's median F0 lands on the owner's."""
    if not info.get("f0_median_hz"):
        return pitch
    return float(np.clip(pitch + semitones_between(evaluator.target.f0_median_hz, info["f0_median_hz"]), -6, 6))


def enroll_voice(reference_clips: list[tuple[np.ndarray, int]], *, budget_s: float = 240.0,
                 progress: Callable[[float, str], None] | None = None, seed: int | None = 0,
                 language: str = "en", max_evaluations: int | None = None) -> EnrollmentResult:
    """Build a Kokoro voice profile from the owner's reference clips within ``budget_s`` seconds.

    ``progress(fraction, message)`` is called as the search advances (for the job's progress).
    ``language`` is the language of the calibration sentences (the clips' language is best).
    ``max_evaluations`` caps the candidates tried (each ONNX run of the calibration sentences and
    each gradient step counts as one), on top of the time budget, so a test gets the same search
    whatever the machine's load.
    """
    from synthesis.engines.kokoro import PROSODY, TIMBRE, stock_packs

    started = time.monotonic()
    budget_s = float(min(max(budget_s, 1.0), MAX_BUDGET_S))
    reporter = progress or (lambda fraction, message: None)
    reported = [0.0]
    rng = np.random.default_rng(seed)

    def report(fraction: float, message: str) -> None:
        reported[0] = max(reported[0], min(fraction, 1.0))  # never backwards
        reporter(reported[0], message)

    def elapsed() -> float:
        return time.monotonic() - started

    report(0.0, "measuring the reference clips")
    target = describe_voice(reference_clips)
    # Two sentences per candidate: with one, similarity gains were measured not to carry over
    # to other sentences (Resemblyzer's score moves with the text as much as with the voice).
    evaluator = _Evaluator(target, language, sentences=2)
    history: list[dict] = []
    seconds_per_eval = [1.0]

    def budget_left(evaluations_needed: int, seconds_needed: float | None = None) -> bool:
        if max_evaluations is not None and evaluator.evaluations + evaluations_needed > max_evaluations:
            return False
        if seconds_needed is None:
            # the slowest recent evaluation, plus a margin: the machine's load changes
            slowest = max([seconds_per_eval[0], *evaluator.recent_seconds])
            seconds_needed = evaluations_needed * slowest * 1.1 + 0.5
        return elapsed() + seconds_needed < budget_s

    try:
        # 1. every stock pack as it is
        packs = stock_packs()
        stock_sims: dict[str, float] = {}
        stock_info: dict[str, dict] = {}
        for name, pack in packs.items():
            if stock_sims and not budget_left(1):  # a tiny budget: the packs scored so far
                break
            _, info = evaluator.score(pack, 0.0)
            stock_info[name] = info
            stock_sims[name] = info["similarity"]
            history.append({"step": "stock", "voice": name, **info, "t": round(elapsed(), 2)})
            report(0.1 * len(stock_sims) / len(packs), f"scored stock voice {name}")
            seconds_per_eval[0] = max(elapsed() / evaluator.evaluations, 0.05)
        best_stock = max(stock_sims, key=lambda n: stock_sims[n])

        # 2. start: the best stock pack or the similarity-weighted blend, whichever scores
        #    higher, then its pitch shifted so its median F0 lands on the owner's.
        base, pitch, best_info = packs[best_stock], 0.0, stock_info[best_stock]
        best_score = objective(best_info)
        if budget_left(1):
            blend = _blend({name: packs[name] for name in stock_sims}, stock_sims)
            score, info = evaluator.score(blend, 0.0)
            if score > best_score:
                base, best_score, best_info = blend, score, info
        new_pitch = _refit_pitch(evaluator, base, pitch, best_info)
        if abs(new_pitch - pitch) > 0.5 and budget_left(1):
            score, info = evaluator.score(base, new_pitch)
            if score > best_score:
                best_score, best_info, pitch = score, info, new_pitch
        history.append({"step": "start", **best_info, "pitch": pitch, "score": best_score, "t": round(elapsed(), 2),
                        "peak_rss_mb": _peak_rss_mb()})
        stacked = np.stack(list(packs.values()))
        spread = np.std(stacked.mean(axis=1), axis=0) + 1e-3  # per-dimension spread of the voices
        centre = stacked.mean(axis=(0, 1))
        offset = np.zeros_like(base)

        # 3. the timbre half by gradient ascent (its own share of the budget, see _timbre_phase)
        if budget_left(3, seconds_needed=GRADIENT_MIN_SECONDS):
            timbre_offset, info, score = _timbre_phase(evaluator, base, pitch, centre, spread, rng, report, history,
                                                       elapsed, budget_s, max_evaluations, seconds_per_eval)
            if timbre_offset is not None and score > best_score:
                offset[:, TIMBRE] = timbre_offset
                best_score, best_info = score, info
        history.append({"step": "timbre", **best_info, "score": best_score, "t": round(elapsed(), 2),
                        "peak_rss_mb": _peak_rss_mb()})

        # 4. the prosody half (and the pitch shift): elitist antithetic ES, one +/- pair per
        #    step, with momentum and success-based step sizes, on whatever budget is left.
        momentum = np.zeros_like(base)
        sigma = 0.35
        step_number = 0
        mask = np.zeros(STYLE_DIM, np.float32)
        mask[PROSODY] = 1.0
        while budget_left(2):
            step_number += 1
            noise = np.broadcast_to(rng.standard_normal(STYLE_DIM).astype(np.float32) * mask * spread, base.shape)
            noise = noise + 0.5 * momentum  # keep drifting along the last successful direction
            trials = []
            for sign in (1.0, -1.0):
                trial = offset + sign * sigma * noise
                score, info = evaluator.score(base + trial, pitch)
                drift = float(np.linalg.norm(trial[:, PROSODY].mean(axis=0) / spread[PROSODY]) / np.sqrt(STYLE_DIM // 2))
                score -= W_RANGE * max(0.0, drift - 1.0)
                trials.append((score, trial, info))
            top_score, top_offset, top_info = max(trials, key=lambda t: t[0])
            if top_score > best_score:
                momentum = (top_offset - offset) / sigma
                best_score, best_info, offset = top_score, top_info, top_offset
                sigma = min(sigma * 1.2, 1.0)
            else:
                momentum *= 0.5
                sigma = max(sigma * 0.85, 0.05)
            if step_number % 4 == 0 and best_info.get("f0_median_hz") and budget_left(3):
                new_pitch = _refit_pitch(evaluator, base + offset, pitch, best_info)
                if abs(new_pitch - pitch) > 0.3:
                    score, info = evaluator.score(base + offset, new_pitch)
                    if score > best_score:
                        best_score, best_info, pitch = score, info, new_pitch
            history.append({"step": f"es-{step_number}", "phase": "prosody", **best_info, "score": best_score,
                            "sigma": sigma, "pitch": pitch, "t": round(elapsed(), 2)})
            report(0.1 + 0.9 * elapsed() / budget_s, f"searching the voice (similarity {best_info['similarity']:.3f})")
    finally:
        evaluator.close()

    profile = VoiceProfile("kokoro", base + offset, pitch_semitones=pitch, metadata={
        "method": "stock-blend+pitch-fit+timbre-gradient+prosody-es", "best_stock_voice": best_stock,
        "target_f0_median_hz": target.f0_median_hz, "target_f0_range_st": target.f0_range_st,
        "similarity_calibration": best_info["similarity"], "evaluations": evaluator.evaluations,
        "language": language})
    report(1.0, "enrollment finished")
    return EnrollmentResult(profile, stock_sims[best_stock], best_info["similarity"], history, best_stock,
                            evaluator.evaluations, elapsed())


GRADIENT_SHARE = 0.7       # of the budget (after the stock voices), for the timbre gradient phase
GRADIENT_MIN_SECONDS = 12.0  # loading the torch decoder and a few steps; below this, skip the phase
GRADIENT_MAX_STEPS = 60
CHECK_EVERY = 5            # gradient steps between full-sentence checks
LEARNING_RATE = 0.02       # Adam, in style units (the stock voices spread about 0.09 per dimension)
PATIENCE = 3               # checks without improvement before the phase stops early


def _timbre_phase(evaluator: _Evaluator, base: np.ndarray, pitch: float, centre: np.ndarray,
                  spread: np.ndarray, rng: np.random.Generator, report, history: list[dict], elapsed,
                  budget_s: float, max_evaluations: int | None, seconds_per_eval: list[float]):
    """Gradient ascent of the timbre half; returns (offset [128] or None, info, score) as the
    engine's ONNX model judges the best candidate (what users will hear).

    The decoder inputs for the calibration sentences are taken once from the ONNX model, which
    is then unloaded while the torch decoder runs (their memory peaks do not add up). Every
    CHECK_EVERY steps the whole calibration sentences are rendered with the torch decoder and
    scored with the full objective (similarity, F0 and MFCC penalties); the best checked
    offset is kept, and the phase stops when checks stop improving.
    """
    import torch

    from synthesis.engines.kokoro import TIMBRE
    from synthesis.engines.kokoro_torch import torch_decoder
    from synthesis.enrollment_gradient import SpeakerObjective, gradient_step

    inputs = evaluator.decoder_inputs(base, pitch)
    evaluator.close()
    history.append({"step": "gradient-start", "rss_mb": _rss_now_mb(), "peak_rss_mb": _peak_rss_mb()})
    phase_start = elapsed()
    phase_end = phase_start + GRADIENT_SHARE * max(budget_s - phase_start, 0.0)
    decoder = torch_decoder()
    objective = SpeakerObjective(evaluator.target.embedding, evaluator.target.mfcc_mean)
    history.append({"step": "gradient-loaded", "rss_mb": _rss_now_mb(), "peak_rss_mb": _peak_rss_mb()})
    base_timbre = evaluator.rows(base)[:, TIMBRE].astype(np.float32)
    offset = torch.zeros(base_timbre.shape[1], requires_grad=True)
    optimizer = torch.optim.Adam([offset], lr=LEARNING_RATE)
    bounds = (torch.from_numpy(centre[TIMBRE].astype(np.float32)), torch.from_numpy(spread[TIMBRE].astype(np.float32)))

    def check(candidate: np.ndarray) -> tuple[float, dict]:
        with torch.no_grad():
            pieces = [decoder(item, torch.from_numpy(row + candidate)).numpy() for item, row in zip(inputs, base_timbre)]
        return evaluator.measure(evaluator.audio(pieces, pitch))

    tick = time.monotonic()
    best_offset, (best_check, _) = np.zeros_like(base_timbre[0]), check(np.zeros_like(base_timbre[0]))
    check_seconds = time.monotonic() - tick
    step, stale, seconds_per_step = 0, 0, 0.0
    while step < GRADIENT_MAX_STEPS and stale < PATIENCE:
        # keep one ONNX evaluation (the final judgement) inside both caps
        if max_evaluations is not None and evaluator.evaluations + 2 > max_evaluations:
            break
        # room for this step, a check, reloading the ONNX model (~1.5 s) and judging the result
        if elapsed() + seconds_per_step + check_seconds + 1.5 + seconds_per_eval[0] > min(phase_end, budget_s):
            break
        tick = time.monotonic()
        similarity = gradient_step(decoder, objective, optimizer, offset, inputs, base_timbre, pitch, bounds, rng)
        evaluator.evaluations += 1  # a gradient step renders and scores a candidate
        step += 1
        seconds_per_step = time.monotonic() - tick
        if step % CHECK_EVERY == 0:
            candidate = offset.detach().numpy().copy()
            score, info = check(candidate)
            if score > best_check + 1e-3:
                best_check, best_offset, stale = score, candidate, 0
            else:
                stale += 1
            history.append({"step": f"gradient-{step}", "crop_similarity": similarity, "check_score": score,
                            **info, "t": round(elapsed(), 2), "peak_rss_mb": _peak_rss_mb()})
        report(0.1 + 0.9 * elapsed() / budget_s, f"fitting the timbre (step {step}, similarity {similarity:.3f})")
    if step % CHECK_EVERY:  # the last steps since a check
        candidate = offset.detach().numpy().copy()
        score, info = check(candidate)
        if score > best_check + 1e-3:
            best_check, best_offset = score, candidate
    del decoder, objective, optimizer, inputs
    _release_memory()
    if not np.any(best_offset):
        return None, {}, -np.inf
    # the engine's own model judges the result
    style = base.copy()
    style[:, TIMBRE] += best_offset
    score, info = evaluator.score(style, pitch)
    return best_offset, info, score
