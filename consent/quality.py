"""Quality checks for reference and consent-statement recordings (plain arrays, no Django).

`check_recording` measures every figure and lists every problem; `assert_recording_ok` raises
`RecordingRejected` whose message names each problem in words a person can act on. The
thresholds are calibrated on synthesized speech in docs/audio-checks.md.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from consent import vad
from voicegate.errors import DomainError

RecordingKind = Literal["reference", "statement"]
SILENCE_DBFS = -120.0  # stands in for -inf (digital silence) so every figure is a finite number


@dataclass(frozen=True)
class QualityLimits:
    """What a recording must meet. Defaults are documented and calibrated in docs/audio-checks.md."""

    min_sample_rate: int = 16000  # the speaker encoder and the engines work at 16 kHz or more
    reference_min_s: float = 3.0
    reference_max_s: float = 30.0
    statement_min_s: float = 2.0
    statement_max_s: float = 60.0
    # At least this share of 32 ms frames must be speech, and at least this many seconds of it.
    min_speech_ratio: float = 0.35
    min_speech_s: float = 2.0
    # Median speech-frame level over the background level (median of non-speech frames). This
    # reads about 5 dB below the SNR of a mix measured over the whole clip: white or pink noise
    # mixed at 10 dB measures 5.5-8.5 dB, at 20 dB 14.5-15 dB, at 30 dB 24.5 dB.
    min_snr_db: float = 12.0
    # Share of samples at (or within 0.1% of) full scale.
    max_clipping_ratio: float = 0.001
    # Integrated loudness (ITU-R BS.1770). Phone and desk recordings sit at -16 to -30 LUFS.
    min_loudness_lufs: float = -40.0
    # Lowest cosine between the speaker embeddings of any two 1.6 s windows. One synthetic or
    # human voice stays above 0.68; two voices joined fall to 0.34-0.45.
    min_speaker_consistency: float = 0.55
    # Work is bounded for long input: figures are measured on at most this many seconds.
    analysis_max_s: float = 90.0

    def duration_range(self, kind: RecordingKind) -> tuple[float, float]:
        if kind == "reference":
            return self.reference_min_s, self.reference_max_s
        return self.statement_min_s, self.statement_max_s


@dataclass(frozen=True)
class QualityProblem:
    code: str
    message: str


@dataclass
class QualityReport:
    kind: RecordingKind
    sample_rate: int
    duration_s: float
    analysed_s: float
    speech_ratio: float
    speech_seconds: float
    speech_level_dbfs: float
    noise_floor_dbfs: float
    snr_db: float
    clipping_ratio: float
    loudness_lufs: float
    peak_dbfs: float
    speaker_windows: int
    speaker_consistency_min: float | None
    speaker_consistency_mean: float | None
    problems: list[QualityProblem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        """JSON-ready: every figure, `passed`, and problems as {code, message}."""
        data = asdict(self)
        data["passed"] = self.passed
        return data


class RecordingRejected(DomainError):
    status_code = 422
    code = "recording_rejected"

    def __init__(self, report: QualityReport):
        label = "reference recording" if report.kind == "reference" else "consent statement recording"
        reasons = "; ".join(problem.message for problem in report.problems)
        super().__init__(f"the {label} was rejected: {reasons}", details={"quality": report.as_dict()})
        self.report = report


def _db(value: float) -> float:
    return max(SILENCE_DBFS, 20.0 * math.log10(value)) if value > 0 else SILENCE_DBFS


def _frame_rms_db(samples: np.ndarray, sample_rate: int, frame_count: int) -> np.ndarray:
    """RMS level (dBFS) of each VAD frame, so levels and speech decisions line up frame by frame."""
    frame = max(1, round(vad.FRAME_SECONDS * sample_rate))
    padded = np.zeros(frame_count * frame, dtype=np.float32)
    usable = min(samples.size, padded.size)
    padded[:usable] = samples[:usable]
    rms = np.sqrt(np.mean(padded.reshape(frame_count, frame).astype(np.float64) ** 2, axis=1))
    return np.array([_db(v) for v in rms])


def _levels(frame_db: np.ndarray, is_speech: np.ndarray) -> tuple[float, float]:
    """(speech level, background level) in dBFS from per-frame levels."""
    if frame_db.size == 0:
        return SILENCE_DBFS, SILENCE_DBFS
    speech_db = frame_db[is_speech]
    speech_level = float(np.median(speech_db)) if speech_db.size else float(np.percentile(frame_db, 90))
    pauses = frame_db[~is_speech]
    # Pauses tell us the room's background; with almost none (continuous speech) the quietest
    # tenth of all frames is the best estimate left.
    noise = float(np.median(pauses)) if pauses.size >= 15 else float(np.percentile(frame_db, 10))
    return speech_level, noise


def _loudness_lufs(samples: np.ndarray, sample_rate: int) -> float:
    import pyloudnorm

    if samples.size < int(0.4 * sample_rate) or not np.any(samples):
        return SILENCE_DBFS  # BS.1770 gating needs one 400 ms block; silence has no loudness
    value = pyloudnorm.Meter(sample_rate).integrated_loudness(samples.astype(np.float64))
    return float(value) if math.isfinite(value) else SILENCE_DBFS


def _speaker_consistency(samples: np.ndarray, sample_rate: int) -> tuple[int, float | None, float | None]:
    from consent.speaker import embed_windows

    try:
        windows = embed_windows(samples, sample_rate)
    except ValueError:  # too little speech for any embedding; the speech check reports it
        return 0, None, None
    if len(windows) < 2:
        return len(windows), None, None
    similarity = windows @ windows.T
    pairs = similarity[np.triu_indices(len(windows), 1)]
    return len(windows), float(pairs.min()), float(pairs.mean())


def check_recording(samples: np.ndarray, sample_rate: int, *, kind: RecordingKind = "reference",
                    limits: QualityLimits | None = None) -> QualityReport:
    """Measure a mono float recording and list every problem with it (never raises for bad audio)."""
    limits = limits or QualityLimits()
    samples = np.asarray(samples, dtype=np.float32)
    duration = samples.size / sample_rate if sample_rate > 0 else 0.0
    analysed = samples[: int(limits.analysis_max_s * sample_rate)]

    times, is_speech, _ = vad.speech_frames(analysed, sample_rate) if analysed.size else (
        np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0))
    frame_db = _frame_rms_db(analysed, sample_rate, times.size)
    speech_level, noise_floor = _levels(frame_db, is_speech)
    speech_seconds = float(is_speech.sum() * vad.FRAME_SECONDS)
    peak = float(np.abs(analysed).max()) if analysed.size else 0.0
    enough_speech = speech_seconds >= 0.5 * limits.min_speech_s
    windows, consistency_min, consistency_mean = (
        _speaker_consistency(analysed, sample_rate) if enough_speech else (0, None, None))

    report = QualityReport(
        kind=kind, sample_rate=int(sample_rate), duration_s=round(duration, 3),
        analysed_s=round(analysed.size / sample_rate, 3) if sample_rate > 0 else 0.0,
        speech_ratio=round(float(is_speech.mean()) if is_speech.size else 0.0, 4),
        speech_seconds=round(speech_seconds, 3),
        speech_level_dbfs=round(speech_level, 2), noise_floor_dbfs=round(noise_floor, 2),
        snr_db=round(speech_level - noise_floor, 2) if is_speech.any() else 0.0,
        clipping_ratio=round(float(np.mean(np.abs(analysed) >= 0.999)) if analysed.size else 0.0, 6),
        loudness_lufs=round(_loudness_lufs(analysed, sample_rate), 2), peak_dbfs=round(_db(peak), 2),
        speaker_windows=windows,
        speaker_consistency_min=None if consistency_min is None else round(consistency_min, 4),
        speaker_consistency_mean=None if consistency_mean is None else round(consistency_mean, 4),
    )
    report.problems = list_problems(report, limits)
    return report


def list_problems(report: QualityReport, limits: QualityLimits) -> list[QualityProblem]:
    """Every limit the report breaks, each with a message that says what to do about it."""
    problems: list[QualityProblem] = []
    name = "reference audio" if report.kind == "reference" else "statement audio"
    if report.sample_rate < limits.min_sample_rate:
        problems.append(QualityProblem(
            "sample_rate_too_low", f"{name} is {report.sample_rate} Hz; at least {limits.min_sample_rate} Hz "
            "is needed (record or export at 16 kHz or more, without downsampling)"))
    shortest, longest = limits.duration_range(report.kind)
    if not shortest <= report.duration_s <= longest:
        problems.append(QualityProblem(
            "too_short" if report.duration_s < shortest else "too_long",
            f"the {report.kind} is {report.duration_s:.1f} s long; it must be between {shortest:g} and "
            f"{longest:g} s"))
    if report.speech_seconds < limits.min_speech_s or report.speech_ratio < limits.min_speech_ratio:
        problems.append(QualityProblem(
            "too_little_speech", f"too little speech: {report.speech_seconds:.1f} s of speech "
            f"({report.speech_ratio:.0%} of the recording); at least {limits.min_speech_s:g} s and "
            f"{limits.min_speech_ratio:.0%} are needed - speak clearly and trim long silences"))
    elif report.snr_db < limits.min_snr_db:
        problems.append(QualityProblem(
            "background_noise", f"background noise detected (speech is only {report.snr_db:.0f} dB above "
            f"the background; at least {limits.min_snr_db:g} dB is needed), please re-record in a "
            "quieter place"))
    if report.clipping_ratio > limits.max_clipping_ratio:
        problems.append(QualityProblem(
            "clipped", f"the recording is clipped ({report.clipping_ratio:.1%} of samples at full scale); "
            "lower the input gain and record again"))
    if report.loudness_lufs < limits.min_loudness_lufs:
        loudness = "silent" if report.loudness_lufs <= SILENCE_DBFS else f"{report.loudness_lufs:.0f} LUFS"
        problems.append(QualityProblem(
            "too_quiet", f"the recording is too quiet ({loudness}; at least {limits.min_loudness_lufs:g} LUFS "
            "is needed); move closer to the microphone or raise the input gain"))
    if (report.speaker_consistency_min is not None
            and report.speaker_consistency_min < limits.min_speaker_consistency):
        problems.append(QualityProblem(
            "multiple_speakers", "more than one speaker seems to be talking (voice consistency "
            f"{report.speaker_consistency_min:.2f}, at least {limits.min_speaker_consistency:.2f} is needed); "
            "record only the voice owner, alone"))
    return problems


def assert_recording_ok(samples: np.ndarray, sample_rate: int, *, kind: RecordingKind = "reference",
                        limits: QualityLimits | None = None) -> QualityReport:
    """The report when the recording passes; RecordingRejected listing every problem otherwise."""
    report = check_recording(samples, sample_rate, kind=kind, limits=limits)
    if not report.passed:
        raise RecordingRejected(report)
    return report
