"""Voice enrollment: find a Kokoro style pack (and pitch shift) that sounds like the owner.

Kokoro has no speaker encoder; a voice is a 256-d style vector per input length. We search that
space against the owner's reference clips, judged by two speaker encoders of different families
(Resemblyzer's GE2E LSTM and a Whisper-encoder embedding, synthesis.judges) plus F0 and the
spectral envelope:

1. Start from the whole stock basis: Kokoro's 54 voices (synthesis.voices) are ranked against
   the owner from a cached table of their judges' figures on the calibration sentences
   (:func:`stock_table`, built once per language and machine); the top voices and their
   similarity-weighted blends are then spoken and judged, and the best is the start.
2. F0 matching: a pitch shift (applied after synthesis, duration-compensated) is fitted
   analytically so the candidate's median F0 equals the owner's, and refitted as the style moves.
3. Timbre by gradient, inside the span of the stock voices: the timbre half (dims 0-127) only
   feeds Kokoro's decoder, so with the prosody half fixed the decoder's inputs are fixed; a torch
   copy of the decoder and of Resemblyzer's front end give the gradient, and Adam follows it on
   random 1.2 s crops, with the offset restricted to the span of the 54 voices' timbre halves
   (53 directions instead of 128: the directions no real voice uses, where an encoder is most
   easily fooled, are closed). Only Resemblyzer drives the gradient.
4. Prosody by evolution strategy in the span of the stock voices' prosody halves (each direction
   scaled by how much the voices differ along it), with the pitch refitted as it goes.
5. Language-aware prosody: for each other language asked for (zh, en, ja by default), a variant
   keeps the owner's timbre and takes the prosody half (rhythm and intonation: the accent) from
   the native stock voice of that language closest to the owner, with its own pitch fit; it is
   kept when it judges better than the owner's own prosody in that language.

What is maximised: for each encoder, its similarity divided by the owner's own second-recording
score (half the reference clips against the other half) and capped at 1, averaged over the
encoders, minus penalties for F0 and envelope distance. A similarity beyond what the owner's own
recordings reach counts for nothing, and a candidate that raises Resemblyzer past that point
while the Whisper judge, F0 or the envelope falls is rejected outright (:func:`vetoed`); after
the start (the best of the top voice, its blends, their pitch fit and equaliser) no candidate is
accepted that the Whisper judge scores below it.

Everything runs within ``budget_s`` seconds. The ONNX session and the torch decoder are never
loaded together, so the two memory peaks do not add up.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voicegate.errors import DomainError

from synthesis.judges import (ANALYSIS_RATE, JUDGES, VoiceTarget, cosine, describe_owner, f0_statistics,  # noqa: F401
                              judge, mfcc_mean, semitones_between, spectral_distance)
from synthesis.profile import STYLE_DIM, VoiceProfile

logger = logging.getLogger(__name__)
MAX_BUDGET_S = 300.0
# Calibration sentences the candidates speak (never the owner's own sentences, so the search
# cannot learn the text); short, phonetically varied.
CALIBRATION_TEXT = {
    "en": ("Could you check the numbers before the meeting starts?",
           "The morning train was late again, so we walked along the river."),
    "zh": ("会议开始之前，你能再核对一下这些数字吗？", "今天早上的火车又晚点了，我们沿着河边走了回去。"),
    "ja": ("会議の前に数字を確認してもらえますか？", "今朝の電車はまた遅れたので、川沿いを歩いて帰りました。"),
}
CROSS_LINGUAL = ("en", "zh", "ja")  # languages with calibration sentences: variants are fitted for these
W_F0 = 0.015        # per semitone of median-F0 distance
W_SPECTRAL = 0.004  # per unit of MFCC distance
W_RANGE = 0.02      # per unit of (normalised) distance beyond the stock packs' spread
TOP_VOICES = 4      # stock voices spoken and judged live at the start
SPAN_SEARCH = True  # the timbre gradient moves in the span of the stock timbres (else in all 128 dims)
BACK_OFF = (0.6, 0.3)  # fractions of a refused timbre offset tried instead
BLEND_TEMPERATURE = 0.02
TABLE_VERSION = 2  # bump when the judges change: the table is rebuilt
# A candidate Resemblyzer scores above the owner's second recording may not lose this much on the
# other judges (tolerances: Whisper cosine, semitones, MFCC units).
VETO_TOLERANCE = {"whisper": 0.0, "f0_gap_st": 0.5, "spectral_distance": 1.5}


class EnrollmentFailed(DomainError):
    code = "enrollment_failed"


@dataclass
class EnrollmentResult:
    profile: VoiceProfile
    similarity_before: float  # best stock voice, Resemblyzer, on the calibration sentences
    similarity_after: float
    history: list[dict] = field(default_factory=list)
    best_stock_voice: str = ""
    evaluations: int = 0
    elapsed_s: float = 0.0
    judges_before: dict = field(default_factory=dict)  # every judge's figures for the best stock voice
    judges_after: dict = field(default_factory=dict)   # and for the result
    ceilings: dict = field(default_factory=dict)       # the owner's own second-recording scores
    start: str = ""                                    # what the search started from
    vetoed: int = 0                                    # candidates rejected by the other judges


# ------------------------------------------------------------------ the owner
def describe_voice(clips: list[tuple[np.ndarray, int]]) -> VoiceTarget:
    if not clips:
        raise EnrollmentFailed("enrollment needs at least one reference clip of the owner")
    target = describe_owner(clips)
    if target.f0_median_hz <= 0:
        raise EnrollmentFailed("the reference clips contain too little voiced speech to measure pitch")
    return target


def objective(info: dict, ceilings: dict | None = None) -> float:
    """What the search maximises: each encoder's similarity over the owner's own second-recording
    score, capped at 1 and averaged, minus the F0 and spectral-envelope penalties. Without the
    Whisper figure (inside the gradient phase's checks) Resemblyzer alone is used."""
    ceilings = ceilings or {}
    used = [name for name in JUDGES if name in info]
    similarity = np.mean([min(info[name] / max(ceilings.get(name, 1.0), 1e-3), 1.0) for name in used])
    return float(similarity - W_F0 * info["f0_gap_st"] - W_SPECTRAL * info["spectral_distance"])


def vetoed(candidate: dict, reference: dict, ceilings: dict) -> bool:
    """True when Resemblyzer scores the candidate beyond the owner's own second recording while
    another judge falls against ``reference`` (the current best)."""
    if "resemblyzer" not in ceilings or candidate["resemblyzer"] <= ceilings["resemblyzer"]:
        return False
    if "whisper" in candidate and "whisper" in reference and \
            candidate["whisper"] < reference["whisper"] - VETO_TOLERANCE["whisper"]:
        return True
    return any(candidate[key] > reference[key] + VETO_TOLERANCE[key] for key in ("f0_gap_st", "spectral_distance"))


# ------------------------------------------------------------------ memory
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
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it is not inherited across
    exec, so a freshly spawned worker reports its own peak)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_now_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return round(int(handle.read().split()[1]) * 4096 / 2**20, 1)
    except OSError:
        return 0.0


# ------------------------------------------------------------------ speaking candidates
def _calibration_language(language: str) -> str:
    return language if language in CALIBRATION_TEXT else "en"


class _Evaluator:
    """Speaks the calibration sentences with a candidate (the engine's ONNX model) and judges it."""

    def __init__(self, target: VoiceTarget, language: str, sentences: int = 2):
        from synthesis.engines.kokoro import MAX_TOKENS, tokenize
        from synthesis.frontend import prepare_text

        code = _calibration_language(language)
        units = [u for text in CALIBRATION_TEXT[code][:sentences] for u in prepare_text(text, code)]
        self.tokens = [t for t in (tokenize(u.phonemes)[:MAX_TOKENS] for u in units) if t]
        self.language = code
        self.target = target
        self.evaluations = 0
        self.session = None
        self.equalizer: tuple[list, list] | None = None  # the output equaliser being judged with
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

    def audio(self, pieces: list[np.ndarray], pitch: float) -> np.ndarray:
        """The candidate as the engine would say it: trimmed, pitch-shifted, through the equaliser."""
        from synthesis import equalizer
        from synthesis.engines.kokoro import SAMPLE_RATE, shift_pitch, trim_silence

        audio = np.concatenate([shift_pitch(trim_silence(np.asarray(p, np.float32)), pitch) for p in pieces])
        return equalizer.apply(audio, SAMPLE_RATE, self.equalizer)

    def measure(self, audio: np.ndarray, judges: Sequence[str] = JUDGES) -> tuple[float, dict]:
        from synthesis.engines.kokoro import SAMPLE_RATE

        info = judge(audio, SAMPLE_RATE, self.target, judges)
        return objective(info, self.target.ceilings), info

    def speak(self, style: np.ndarray, pitch: float) -> np.ndarray:
        return self.audio([d.audio for d in self.decoder_inputs(style, pitch)], pitch)

    def score(self, style: np.ndarray, pitch: float) -> tuple[float, dict]:
        loaded = self.session is not None
        tick = time.monotonic()
        self.evaluations += 1
        result = self.measure(self.speak(style, pitch))
        if loaded:  # the time to load the model is not an evaluation's
            self.recent_seconds = (self.recent_seconds + [time.monotonic() - tick])[-5:]
        return result

    def typical_seconds(self, fallback: float) -> float:
        return float(np.median(self.recent_seconds)) if self.recent_seconds else fallback


# ------------------------------------------------------------------ the stock voices' table
@dataclass
class StockTable:
    """Every stock voice's judges' figures on one language's calibration sentences (pitch 0)."""

    names: list[str]
    embeddings: dict[str, np.ndarray]  # judge -> [voices, dim]
    f0_median_hz: np.ndarray
    mfcc: np.ndarray  # [voices, 19]

    def rank(self, target: VoiceTarget) -> list[tuple[str, float, dict]]:
        """(voice, objective, figures), best first, for ``target`` (the pitch fit is not counted:
        it is refitted for the chosen start)."""
        rows = []
        for i, name in enumerate(self.names):
            info = {judge_name: cosine(self.embeddings[judge_name][i], target.embeddings[judge_name])
                    for judge_name in JUDGES}
            info["f0_gap_st"] = 0.0
            info["spectral_distance"] = spectral_distance(self.mfcc[i], target.mfcc_mean)
            rows.append((name, objective(info, target.ceilings), info))
        return sorted(rows, key=lambda row: -row[1])


def _table_path(language: str, channel_rate: int | None):
    from synthesis.engines.kokoro import model_file
    from synthesis.engines.onnx_tuning import model_cache_dir
    from synthesis.voices import stock_packs

    model = model_file()
    stat = model.stat()
    key = json.dumps([TABLE_VERSION, str(model.name), stat.st_size, int(stat.st_mtime), sorted(stock_packs()),
                      CALIBRATION_TEXT[language], channel_rate, list(JUDGES)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return model_cache_dir() / f"stock-voice-table-{language}-{channel_rate or 'wide'}-{digest}.npz"


def stock_table(language: str, channel_rate: int | None = None) -> StockTable:
    """The table for ``language`` (calibration sentences) and channel, built once (about a minute
    and a half on 2 cores: 54 voices spoken and judged) into the model cache."""
    import os
    import tempfile

    from synthesis.judges import EMBEDDERS, band_limit

    code = _calibration_language(language)
    path = _table_path(code, channel_rate)
    if path.exists():
        with np.load(path) as data:
            return StockTable(list(data["names"]), {name: data[f"emb_{name}"] for name in JUDGES},
                              data["f0"], data["mfcc"])
    from synthesis.engines.kokoro import SAMPLE_RATE
    from synthesis.voices import stock_packs

    evaluator = _Evaluator(VoiceTarget({}, 0.0, 0.0, np.zeros(19, np.float32)), code)
    names = list(stock_packs())
    embeddings: dict[str, list] = {name: [] for name in JUDGES}
    f0s, mfccs = [], []
    try:
        for name in names:
            audio = band_limit(evaluator.speak(stock_packs()[name], 0.0), SAMPLE_RATE, channel_rate)
            for judge_name in JUDGES:
                embeddings[judge_name].append(EMBEDDERS[judge_name](audio, SAMPLE_RATE))
            f0s.append(f0_statistics(audio, SAMPLE_RATE)[0])
            mfccs.append(mfcc_mean(audio, SAMPLE_RATE))
    finally:
        evaluator.close()
    table = StockTable(names, {k: np.stack(v) for k, v in embeddings.items()}, np.array(f0s, np.float32),
                       np.stack(mfccs))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(handle)
    np.savez(temporary, names=np.array(names), f0=table.f0_median_hz, mfcc=table.mfcc,
             **{f"emb_{k}": v for k, v in table.embeddings.items()})
    os.replace(temporary, path)
    return table


# ------------------------------------------------------------------ the span of the stock voices
def stock_basis(packs: dict[str, np.ndarray], half: slice) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal directions spanned by the stock voices' (mean) half-styles around their centre,
    [directions, 128], and the voices' spread along each (their singular values / sqrt(n))."""
    means = np.stack([pack[:, half].mean(axis=0) for pack in packs.values()])
    centred = means - means.mean(axis=0)
    _, singular, directions = np.linalg.svd(centred, full_matrices=False)
    keep = singular > 1e-6 * singular[0]
    return directions[keep].astype(np.float32), (singular[keep] / np.sqrt(len(packs))).astype(np.float32)


def _blend(packs: dict[str, np.ndarray], scores: dict[str, float], temperature: float = BLEND_TEMPERATURE) -> np.ndarray:
    names = list(scores)
    values = np.array([scores[n] for n in names])
    weights = np.exp((values - values.max()) / temperature)
    weights /= weights.sum()
    return np.sum([w * packs[n] for w, n in zip(weights, names)], axis=0).astype(np.float32)


def _refit_pitch(target: VoiceTarget, pitch: float, info: dict) -> float:
    """Move the pitch shift so the candidate's median F0 lands on the owner's."""
    if not info.get("f0_median_hz"):
        return pitch
    return float(np.clip(pitch + semitones_between(target.f0_median_hz, info["f0_median_hz"]), -6, 6))


class _Search:
    """The best candidate so far, and the rules for replacing it."""

    def __init__(self, target: VoiceTarget, history: list[dict], elapsed):
        self.target = target
        self.history = history
        self.elapsed = elapsed
        self.best_score = -np.inf
        self.best_info: dict = {}
        self.floor: dict = {}  # the start's figures: nothing the Whisper judge scores lower is accepted
        self.vetoed = 0
        self.rejected_by_judges = False  # the last offer was better but refused by the other judges

    def offer(self, score: float, info: dict, step: str) -> bool:
        self.rejected_by_judges = False
        if score <= self.best_score:
            return False
        self.rejected_by_judges = True
        if self.best_info and vetoed(info, self.best_info, self.target.ceilings):
            self.vetoed += 1
            self.history.append({"step": f"{step}-vetoed", **info, "score": score, "t": round(self.elapsed(), 2)})
            return False
        if self.floor and "whisper" in info and info["whisper"] < self.floor["whisper"]:
            self.vetoed += 1
            self.history.append({"step": f"{step}-below-start", **info, "score": score, "t": round(self.elapsed(), 2)})
            return False
        self.rejected_by_judges = False
        self.best_score, self.best_info = score, info
        return True


def enroll_voice(reference_clips: list[tuple[np.ndarray, int]], *, budget_s: float = 240.0,
                 progress: Callable[[float, str], None] | None = None, seed: int | None = 0,
                 language: str = "en", max_evaluations: int | None = None,
                 languages: Sequence[str] | None = None) -> EnrollmentResult:
    """Build a Kokoro voice profile from the owner's reference clips within ``budget_s`` seconds.

    ``progress(fraction, message)`` is called as the search advances (for the job's progress).
    ``language`` is the language of the reference clips (and of the calibration sentences);
    ``languages`` the other languages to fit native prosody for (default: en, zh, ja).
    ``max_evaluations`` caps the candidates tried (each ONNX run of the calibration sentences and
    each gradient step counts as one), on top of the time budget, so a test gets the same search
    whatever the machine's load.
    """
    from synthesis.engines.kokoro import PROSODY, TIMBRE
    from synthesis.voices import stock_packs

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
    others = [code for code in (languages if languages is not None else CROSS_LINGUAL)
              if code in CALIBRATION_TEXT and code != evaluator.language]
    history: list[dict] = [{"step": "owner", "ceilings": target.ceilings, "channel_rate": target.channel_rate,
                            "f0_median_hz": target.f0_median_hz, "t": round(elapsed(), 2)}]
    search = _Search(target, history, elapsed)
    seconds_per_eval = [1.5]

    def budget_left(evaluations_needed: int, seconds_needed: float | None = None, reserve: float = 0.0) -> bool:
        if max_evaluations is not None and evaluator.evaluations + evaluations_needed > max_evaluations:
            return False
        if seconds_needed is None:
            # a typical recent evaluation, plus a margin: the machine's load changes
            seconds_needed = evaluations_needed * evaluator.typical_seconds(seconds_per_eval[0]) * 1.25 + 0.5
        return elapsed() + seconds_needed + reserve < budget_s

    packs = stock_packs()
    try:
        # 1. rank the 54 stock voices from the cached table, then speak the top ones and blends
        report(0.01, "ranking the stock voices")
        table = stock_table(evaluator.language, target.channel_rate)
        ranking = table.rank(target)
        history.append({"step": "stock-ranking", "top": [(n, round(s, 4)) for n, s, _ in ranking[:8]],
                        "t": round(elapsed(), 2)})
        top = ranking[:TOP_VOICES]
        # a single stock voice at pitch 0 is what the table measured: only the blends are spoken
        best_stock, _, stock_info = top[0]
        stock_info = {**stock_info, "f0_median_hz": float(table.f0_median_hz[table.names.index(best_stock)])}
        stock_info["f0_gap_st"] = abs(semitones_between(stock_info["f0_median_hz"], target.f0_median_hz)) \
            if stock_info["f0_median_hz"] else 12.0
        stock_info["similarity"] = stock_info["resemblyzer"]
        search.offer(objective(stock_info, target.ceilings), stock_info, "start")
        base, pitch, start_name = packs[best_stock], 0.0, best_stock
        for k in (len(top), 2):
            if not budget_left(1):
                break
            name = f"blend of {', '.join(n for n, _, _ in top[:k])}"
            style = _blend(packs, {n: s for n, s, _ in top[:k]})
            tick = time.monotonic()
            score, info = evaluator.score(style, 0.0)
            seconds_per_eval[0] = max(time.monotonic() - tick, 0.05)
            history.append({"step": "start-candidate", "voice": name, **info, "score": score, "t": round(elapsed(), 2)})
            if search.offer(score, info, "start"):
                base, start_name = style, name
        report(0.1, f"starting from {start_name}")
        # 2. the pitch shift that puts the start's median F0 on the owner's
        new_pitch = _refit_pitch(target, pitch, search.best_info)
        if abs(new_pitch - pitch) > 0.5 and budget_left(1):
            score, info = evaluator.score(base, new_pitch)
            if search.offer(score, info, "pitch"):
                pitch = new_pitch
        _fit_equalizer(evaluator, search, reference_clips, base, pitch, history, elapsed, budget_left)
        search.floor = dict(search.best_info)  # from here on, nothing the Whisper judge scores below the start
        history.append({"step": "start", "voice": start_name, **search.best_info, "pitch": pitch,
                        "score": search.best_score, "t": round(elapsed(), 2), "peak_rss_mb": _peak_rss_mb()})
        offset = np.zeros_like(base)
        # time kept for the other languages' prosody (3 evaluations each), at most a quarter of the budget
        cross_reserve = min(len(others) * 3 * evaluator.typical_seconds(seconds_per_eval[0]), 0.25 * budget_s)

        # 3. the timbre half by gradient ascent in the span of the stock timbres
        if budget_left(3, seconds_needed=GRADIENT_MIN_SECONDS, reserve=cross_reserve):
            timbre_basis = stock_basis(packs, TIMBRE)[0] if SPAN_SEARCH else np.eye(STYLE_DIM // 2, dtype=np.float32)
            stacked = np.stack(list(packs.values()))
            spread = np.std(stacked.mean(axis=1), axis=0) + 1e-3
            centre = stacked.mean(axis=(0, 1))
            timbre_offset, info, score = _timbre_phase(evaluator, base, pitch, centre, spread, timbre_basis, rng,
                                                       report, history, elapsed, budget_s - cross_reserve,
                                                       max_evaluations, seconds_per_eval)
            if timbre_offset is not None and search.offer(score, info, "timbre"):
                offset[:, TIMBRE] = timbre_offset
            elif timbre_offset is not None and search.rejected_by_judges:
                # better for the objective but refused by the other judges: back off along the
                # same direction while the budget allows
                for scale in BACK_OFF:
                    if not budget_left(1, reserve=cross_reserve):
                        break
                    style = base.copy()
                    style[:, TIMBRE] += scale * timbre_offset
                    score, info = evaluator.score(style, pitch)
                    if search.offer(score, info, f"timbre-x{scale}"):
                        offset[:, TIMBRE] = scale * timbre_offset
                        break
        history.append({"step": "timbre", **search.best_info, "score": search.best_score, "t": round(elapsed(), 2),
                        "peak_rss_mb": _peak_rss_mb()})

        # 4. the prosody half (and the pitch shift): elitist antithetic ES in the span of the
        #    stock prosodies, one +/- pair per step, momentum and success-based step sizes.
        prosody_basis, prosody_spread = stock_basis(packs, PROSODY)
        momentum = np.zeros(prosody_basis.shape[0], np.float32)
        coefficients = np.zeros_like(momentum)
        sigma = 0.35
        step_number = 0
        while budget_left(2, reserve=cross_reserve):
            step_number += 1
            noise = rng.standard_normal(momentum.size).astype(np.float32) * prosody_spread + 0.5 * momentum
            trials = []
            for sign in (1.0, -1.0):
                trial = coefficients + sign * sigma * noise
                style = base + offset
                style[:, PROSODY] += trial @ prosody_basis
                score, info = evaluator.score(style, pitch)
                drift = float(np.linalg.norm(trial / prosody_spread) / np.sqrt(trial.size))
                trials.append((score - W_RANGE * max(0.0, drift - 1.0), trial, info))
            top_score, top_trial, top_info = max(trials, key=lambda t: t[0])
            if search.offer(top_score, top_info, f"es-{step_number}"):
                momentum = (top_trial - coefficients) / sigma
                coefficients = top_trial
                sigma = min(sigma * 1.2, 1.0)
            else:
                momentum *= 0.5
                sigma = max(sigma * 0.85, 0.05)
            if step_number % 4 == 0 and search.best_info.get("f0_median_hz") and budget_left(3, reserve=cross_reserve):
                new_pitch = _refit_pitch(target, pitch, search.best_info)
                if abs(new_pitch - pitch) > 0.3:
                    style = base + offset
                    style[:, PROSODY] += coefficients @ prosody_basis
                    score, info = evaluator.score(style, new_pitch)
                    if search.offer(score, info, "pitch"):
                        pitch = new_pitch
            history.append({"step": f"es-{step_number}", "phase": "prosody", **search.best_info,
                            "score": search.best_score, "sigma": sigma, "pitch": pitch, "t": round(elapsed(), 2)})
            report(0.1 + 0.85 * elapsed() / budget_s,
                   f"searching the voice (similarity {search.best_info['similarity']:.3f})")
        offset[:, PROSODY] += coefficients @ prosody_basis
        final = base + offset
        if evaluator.equalizer is not None or budget_left(2, reserve=cross_reserve):  # refit for the final voice
            _fit_equalizer(evaluator, search, reference_clips, final, pitch, history, elapsed,
                           lambda n: budget_left(n, reserve=cross_reserve))

        # 5. native prosody for the other languages
        variants = _language_variants(evaluator, final, pitch, others, ranking, packs, history, elapsed,
                                      budget_left, report)
    finally:
        evaluator.close()

    profile = VoiceProfile("kokoro", final, pitch_semitones=pitch, equalizer=evaluator.equalizer, metadata={
        "method": "stock-table+top-blend+pitch-fit+equalizer+span-timbre-gradient+span-prosody-es+native-prosody",
        "best_stock_voice": best_stock, "start": start_name,
        "target_f0_median_hz": target.f0_median_hz, "target_f0_range_st": target.f0_range_st,
        "similarity_calibration": search.best_info["similarity"], "judges_calibration": _rounded(search.best_info),
        "ceilings": _rounded(target.ceilings), "evaluations": evaluator.evaluations, "language": evaluator.language,
        "native_prosody": {code: voice for code, (voice, _, _) in variants.items()}},
        languages={code: (style, variant_pitch) for code, (_, style, variant_pitch) in variants.items()})
    report(1.0, "enrollment finished")
    return EnrollmentResult(profile, stock_info.get("similarity", search.best_info["similarity"]),
                            search.best_info["similarity"], history, best_stock, evaluator.evaluations, elapsed(),
                            judges_before=_rounded(stock_info), judges_after=_rounded(search.best_info),
                            ceilings=_rounded(target.ceilings), start=start_name, vetoed=search.vetoed)


def _rounded(info: dict) -> dict:
    return {k: round(float(v), 4) for k, v in info.items() if isinstance(v, (int, float, np.floating))}


def _language_variants(main: _Evaluator, style: np.ndarray, pitch: float, languages: list[str],
                       ranking: list, packs: dict, history: list[dict], elapsed, budget_left, report) -> dict:
    """{language: (native voice, style, pitch)} for the languages where the owner's timbre with a
    native voice's prosody half judges better than the owner's whole profile does."""
    from synthesis.engines.kokoro import PROSODY
    from synthesis.voices import describe

    target = main.target
    variants = {}
    for code in languages:
        natives = [name for name, _, _ in ranking if describe(name).language == code]
        if not natives or not budget_left(3):
            continue
        evaluator = _Evaluator(target, code)
        evaluator.session = main.session  # one ONNX session for every language
        evaluator.equalizer = main.equalizer
        try:
            own_score, own_info = evaluator.score(style, pitch)
            native = natives[0]
            candidate = style.copy()
            candidate[:, PROSODY] = packs[native][:, PROSODY]
            best = (own_score, None, pitch, own_info)
            score, info = evaluator.score(candidate, pitch)
            if score > best[0] and not vetoed(info, own_info, target.ceilings):
                best = (score, candidate, pitch, info)
            refit = _refit_pitch(target, pitch, info)
            if abs(refit - pitch) > 0.3 and budget_left(1):
                score, info = evaluator.score(candidate, refit)
                if score > best[0] and not vetoed(info, own_info, target.ceilings):
                    best = (score, candidate, refit, info)
        finally:
            main.evaluations += evaluator.evaluations
            main.session = evaluator.session
        history.append({"step": f"language-{code}", "native_voice": native, "own_score": round(own_score, 4),
                        "score": round(best[0], 4), "kept": best[1] is not None, **_rounded(best[3]),
                        "t": round(elapsed(), 2)})
        if best[1] is not None:
            variants[code] = (native, best[1], best[2])
        report(0.96, f"fitted the {code} prosody")
    return variants


def _fit_equalizer(evaluator: _Evaluator, search: _Search, clips: list[tuple[np.ndarray, int]], style: np.ndarray,
                   pitch: float, history: list[dict], elapsed, budget_left) -> None:
    """Fit the output equaliser to the owner's envelope, from the candidate spoken without one, and
    keep it where the judges prefer it (the evaluator then judges with it)."""
    from synthesis import equalizer
    from synthesis.engines.kokoro import SAMPLE_RATE

    if not budget_left(2):
        return
    current = evaluator.equalizer
    evaluator.equalizer = None
    raw = evaluator.speak(style, pitch)
    evaluator.equalizer = equalizer.fit(clips, raw, SAMPLE_RATE)
    score, info = evaluator.score(style, pitch)
    kept = search.offer(score, info, "equalizer")
    history.append({"step": "equalizer", **info, "score": score, "kept": kept,
                    "max_gain_db": max((abs(g) for g in evaluator.equalizer[1]), default=0.0), "t": round(elapsed(), 2)})
    if not kept:
        evaluator.equalizer = current


GRADIENT_SHARE = 0.7       # of the budget (after the stock voices), for the timbre gradient phase
GRADIENT_MIN_SECONDS = 12.0  # loading the torch decoder and a few steps; below this, skip the phase
GRADIENT_MAX_STEPS = 60
CHECK_EVERY = 5            # gradient steps between sentence checks
CHECK_FRAMES = 120         # decoder frames (3 s) of each calibration sentence a check renders
LEARNING_RATE = 0.02       # Adam, in style units (the stock voices spread about 0.09 per dimension)
PATIENCE = 3               # checks without improvement before the phase stops early


def _timbre_phase(evaluator: _Evaluator, base: np.ndarray, pitch: float, centre: np.ndarray,
                  spread: np.ndarray, basis: np.ndarray, rng: np.random.Generator, report, history: list[dict],
                  elapsed, budget_s: float, max_evaluations: int | None, seconds_per_eval: list[float]):
    """Gradient ascent of the timbre half within the span ``basis`` ([directions, 128]) of the
    stock timbres; returns (offset [128] or None, info, score) as the engine's ONNX model judges
    the best candidate (what users will hear).

    The decoder inputs for the calibration sentences are taken once from the ONNX model, which
    is then unloaded while the torch decoder runs (their memory peaks do not add up). Every
    CHECK_EVERY steps the whole calibration sentences are rendered with the torch decoder and
    scored on Resemblyzer, F0 and the envelope (the Whisper judge sees the final candidate);
    the best checked offset is kept, and the phase stops when checks stop improving.
    """
    import torch

    from synthesis.engines.kokoro import TIMBRE
    from synthesis.engines.kokoro_torch import torch_decoder
    from synthesis.enrollment_gradient import SpeakerObjective, gradient_step

    inputs = evaluator.decoder_inputs(base, pitch)
    evaluator.close()
    _unload_whisper()  # the checks below use Resemblyzer only; the final judgement reloads it
    history.append({"step": "gradient-start", "rss_mb": _rss_now_mb(), "peak_rss_mb": _peak_rss_mb()})
    phase_start = elapsed()
    phase_end = phase_start + GRADIENT_SHARE * max(budget_s - phase_start, 0.0)
    decoder = torch_decoder()
    objective_ = SpeakerObjective(evaluator.target.embedding, evaluator.target.mfcc_mean,
                                  channel_rate=evaluator.target.channel_rate, spectral_weight=W_SPECTRAL,
                                  equalizer=evaluator.equalizer)
    history.append({"step": "gradient-loaded", "rss_mb": _rss_now_mb(), "peak_rss_mb": _peak_rss_mb()})
    base_timbre = evaluator.rows(base)[:, TIMBRE].astype(np.float32)
    directions = torch.from_numpy(basis)
    coefficients = torch.zeros(basis.shape[0], requires_grad=True)
    optimizer = torch.optim.Adam([coefficients], lr=LEARNING_RATE)
    bounds = (torch.from_numpy(centre[TIMBRE].astype(np.float32)), torch.from_numpy(spread[TIMBRE].astype(np.float32)))

    # checks render at most CHECK_FRAMES of each sentence: the decoder's memory grows with length
    # (Mandarin calibration sentences took a worker to 1.6 GB rendered whole)
    checked = [item.crop(0, min(CHECK_FRAMES, item.frames)) for item in inputs]

    def check(candidate: np.ndarray) -> tuple[float, dict]:
        with torch.no_grad():
            pieces = [decoder(item, torch.from_numpy(row + candidate)).numpy() for item, row in zip(checked, base_timbre)]
        return evaluator.measure(evaluator.audio(pieces, pitch), judges=("resemblyzer",))

    def current() -> np.ndarray:
        return (coefficients.detach() @ directions).numpy().copy()

    tick = time.monotonic()
    best_offset, (best_check, _) = np.zeros_like(base_timbre[0]), check(np.zeros_like(base_timbre[0]))
    check_seconds = time.monotonic() - tick
    step, stale, seconds_per_step = 0, 0, 0.0
    threads = torch.get_num_threads()
    timings: dict[int, list[float]] = {threads: [], 1: []}
    while step < GRADIENT_MAX_STEPS and stale < PATIENCE:
        # On a machine other jobs keep busy, torch's threads can wait on each other for whole
        # time slices (steps measured 10x slower): steps 3-4 run on one thread, then the faster
        # setting is kept.
        if threads > 1 and step == 2:
            torch.set_num_threads(1)
        elif threads > 1 and step == 4:
            fast = min(timings, key=lambda n: np.median(timings[n]) if timings[n] else np.inf)
            torch.set_num_threads(fast)
            history.append({"step": "gradient-threads", "threads": fast,
                            "seconds_per_step": {n: round(float(np.median(v)), 2) for n, v in timings.items() if v}})
        # keep one ONNX evaluation (the final judgement) inside both caps
        if max_evaluations is not None and evaluator.evaluations + 2 > max_evaluations:
            break
        # room for this step, a check, reloading the ONNX model (~1.5 s) and judging the result
        if elapsed() + seconds_per_step + check_seconds + 1.5 + seconds_per_eval[0] > min(phase_end, budget_s):
            break
        tick = time.monotonic()
        similarity = gradient_step(decoder, objective_, optimizer, coefficients, directions, inputs, base_timbre,
                                   pitch, bounds, rng)
        evaluator.evaluations += 1  # a gradient step renders and scores a candidate
        step += 1
        seconds_per_step = time.monotonic() - tick
        if step <= 4:
            timings[torch.get_num_threads()].append(seconds_per_step)
        if step % CHECK_EVERY == 0:
            candidate = current()
            score, info = check(candidate)
            if score > best_check + 1e-3:
                best_check, best_offset, stale = score, candidate, 0
            else:
                stale += 1
            history.append({"step": f"gradient-{step}", "crop_similarity": similarity, "check_score": score,
                            **info, "t": round(elapsed(), 2), "peak_rss_mb": _peak_rss_mb()})
        report(0.1 + 0.85 * elapsed() / budget_s, f"fitting the timbre (step {step}, similarity {similarity:.3f})")
    if step % CHECK_EVERY:  # the last steps since a check
        candidate = current()
        score, info = check(candidate)
        if score > best_check + 1e-3:
            best_check, best_offset = score, candidate
    torch.set_num_threads(threads)
    del decoder, objective_, optimizer, inputs, checked
    _release_memory()
    if not np.any(best_offset):
        return None, {}, -np.inf
    # the engine's own model and every judge decide
    style = base.copy()
    style[:, TIMBRE] += best_offset
    score, info = evaluator.score(style, pitch)
    return best_offset, info, score


def _unload_whisper() -> None:
    """Drop the Whisper encoder (about 100 MB) while the torch decoder holds its memory."""
    import sys

    for name in ("safety.detector.whisper", "voicegate.whisper"):  # wherever the port lives
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "encoder"):
            module.encoder.cache_clear()
    _release_memory()


def prepare(languages: Sequence[str] = CROSS_LINGUAL, channel_rates: Sequence[int | None] = (None,)) -> None:
    """Build the stock-voice tables ahead of the first enrollment (tools/bootstrap.sh runs this)."""
    for code in languages:
        for rate in channel_rates:
            tick = time.monotonic()
            stock_table(code, rate)
            print(f"stock-voice table {code} ({rate or 'wideband'}): {time.monotonic() - tick:.1f} s")


if __name__ == "__main__":
    import sys

    prepare(sys.argv[1:] or CROSS_LINGUAL)
