import numpy as np
import pytest

from consent.quality import QualityLimits, RecordingRejected, assert_recording_ok, check_recording
from consent.vad import speech_frames
from tests.audio_checks.conftest import RATE
from tests.audio_checks.voices import (
    SENTENCES, add_noise, espeak_speech, piper_speech, pink_noise, white_noise, with_silence)
from voicegate.audio import resample


def problem_codes(samples, rate=RATE, **kwargs):
    return [problem.code for problem in check_recording(samples, rate, **kwargs).problems]


def rejection_message(samples, rate=RATE, **kwargs) -> str:
    with pytest.raises(RecordingRejected) as caught:
        assert_recording_ok(samples, rate, **kwargs)
    assert caught.value.status_code == 422
    return caught.value.message


def test_clean_piper_and_espeak_recordings_pass_with_every_figure(piper_reference, espeak_reference):
    for samples in (piper_reference, espeak_reference):
        report = assert_recording_ok(samples, RATE)
        figures = report.as_dict()
        assert figures["passed"] and figures["problems"] == []
        assert report.speech_ratio > 0.7 and report.speech_seconds > 6
        assert report.snr_db > 40 and report.clipping_ratio == 0
        assert -35 < report.loudness_lufs < -15 and report.speaker_consistency_min > 0.6


def test_vad_marks_speech_but_not_the_silence_around_it(piper_reference):
    times, is_speech, probabilities = speech_frames(piper_reference, RATE)
    assert times.size == is_speech.size == probabilities.size
    assert not is_speech[times < 0.3].any()  # 0.4 s of leading silence
    assert is_speech[(times > 1.0) & (times < 3.0)].mean() > 0.8


def test_8_khz_reference_is_rejected_saying_what_rate_is_needed(piper_reference):
    message = rejection_message(resample(piper_reference, RATE, 8000), 8000)
    assert "reference audio is 8000 Hz; at least 16000 Hz is needed" in message


def test_reference_outside_3_to_30_seconds_is_rejected(piper_reference):
    short = piper_reference[: int(2.1 * RATE)]
    assert "the reference is 2.1 s long; it must be between 3 and 30 s" in rejection_message(short)
    long = np.tile(piper_reference, 4)  # about 37 s
    assert problem_codes(long) == ["too_long"]
    assert problem_codes(long, kind="statement") == []  # statements may run to 60 s
    assert problem_codes(short, limits=QualityLimits(reference_min_s=2.0, min_speech_s=1.0)) == []


@pytest.mark.parametrize("noise", [white_noise, pink_noise], ids=["white", "pink"])
def test_speech_in_noise_at_10_db_snr_is_rejected_as_background_noise(piper_reference, noise):
    noisy = add_noise(piper_reference, noise(piper_reference.size, seed=5), snr_db=10)
    message = rejection_message(noisy)
    assert "background noise detected" in message and "please re-record in a quieter place" in message


def test_noise_at_30_db_snr_is_accepted(piper_reference):
    assert problem_codes(add_noise(piper_reference, white_noise(piper_reference.size), snr_db=30)) == []


@pytest.mark.parametrize("signal", ["silence", "white noise", "pink noise"])
def test_recordings_without_speech_are_rejected_for_too_little_speech(signal):
    samples = {"silence": np.zeros(6 * RATE, np.float32), "white noise": 0.1 * white_noise(6 * RATE),
               "pink noise": 0.1 * pink_noise(6 * RATE)}[signal]
    message = rejection_message(samples)
    assert "too little speech: 0.0 s of speech" in message


def test_silence_is_also_reported_as_too_quiet():
    assert "the recording is too quiet (silent" in rejection_message(np.zeros(6 * RATE, np.float32))


def test_clipped_recording_is_rejected_with_the_share_of_clipped_samples(piper_reference):
    message = rejection_message(np.clip(piper_reference * 6, -1, 1))
    assert "the recording is clipped (" in message and "of samples at full scale); lower the input gain" in message


def test_quiet_recording_is_rejected_with_its_loudness(piper_reference):
    message = rejection_message(piper_reference * 0.01)
    assert "the recording is too quiet (-6" in message and "LUFS; at least -40 LUFS is needed" in message


def test_two_different_voices_are_rejected_as_more_than_one_speaker():
    piper, _ = piper_speech(SENTENCES[1])
    espeak, _ = espeak_speech(SENTENCES[3])
    message = rejection_message(with_silence(np.concatenate([piper, espeak]), RATE))
    assert "more than one speaker seems to be talking" in message


def test_every_problem_is_listed_in_one_message(piper_reference):
    bad = resample(np.clip(piper_reference[: 2 * RATE] * 6, -1, 1), RATE, 8000)
    message = rejection_message(bad, 8000)
    assert message.startswith("the reference recording was rejected: ")
    assert "8000 Hz" in message and "2.0 s long" in message and "clipped" in message


def test_ten_minute_input_is_measured_on_a_bounded_prefix_without_error(piper_reference):
    rate = 16000
    clip = resample(piper_reference, RATE, rate)
    ten_minutes = np.tile(clip, int(600 * rate / clip.size) + 1)[: 600 * rate]
    report = check_recording(ten_minutes, rate, kind="statement")
    assert report.duration_s == pytest.approx(600, abs=0.01)
    assert report.analysed_s == pytest.approx(QualityLimits().analysis_max_s, abs=0.01)
    assert [problem.code for problem in report.problems] == ["too_long"]
