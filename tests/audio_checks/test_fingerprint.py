import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from voicegate.fingerprint import build_index, fingerprint, frame_seconds, match
from tests.audio_checks.voices import SENTENCES, add_noise, espeak_speech, piper_speech, white_noise
from voicegate.audio import decode_audio, encode_audio, resample

RATE = 22050
MORE = ("Nobody expected the weather to change so quickly during the long afternoon.",
        "Every Tuesday the library opens early for students who need a quiet room.",
        "The engineer checked every cable twice before switching the old generator back on.")


@pytest.fixture(scope="module")
def registry():
    clips = {
        "gen-a": np.concatenate([piper_speech(SENTENCES[0])[0], piper_speech(SENTENCES[1])[0]]),
        "gen-b": np.concatenate([piper_speech(SENTENCES[2])[0], piper_speech(SENTENCES[3])[0]]),
        "gen-c": np.concatenate([espeak_speech(MORE[0], voice="en-us+m3")[0],
                                 espeak_speech(MORE[1], voice="en-us+m3")[0]]),
    }
    return clips, build_index((clip_id, fingerprint(samples, RATE)) for clip_id, samples in clips.items())


def band_limit(samples, rate):
    # Telephone-like filtering strong enough to wipe an ultrasonic or wideband watermark.
    return sosfilt(butter(6, [300, 3000], btype="band", fs=rate, output="sos"), samples).astype(np.float32)


def reencode(fmt, bitrate):
    def transform(samples, rate):
        decoded = decode_audio(encode_audio(samples, rate, fmt, bitrate=bitrate))
        return decoded.samples, decoded.sample_rate
    return transform


TRANSFORMS = {
    "mp3": reencode("mp3", "64k"),
    "aac": reencode("m4a", "64k"),
    "opus": reencode("ogg", "32k"),
    "gain -12 dB": lambda x, r: (x * 0.25, r),
    "white noise 20 dB": lambda x, r: (add_noise(x, white_noise(x.size, seed=9), 20), r),
    "bandpass 300-3000 Hz": lambda x, r: (band_limit(x, r), r),
    "all of them": lambda x, r: reencode("mp3", "64k")(add_noise(band_limit(x, r) * 0.3, white_noise(x.size, 4), 20), r),
}


@pytest.mark.parametrize("clip_id,start_s", [("gen-a", 1.37), ("gen-b", 5.91), ("gen-c", 3.05)])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_three_second_excerpt_is_traced_to_its_clip_and_offset(registry, clip_id, start_s, transform):
    clips, index = registry
    excerpt = clips[clip_id][int(start_s * RATE): int((start_s + 3) * RATE)]
    samples, rate = TRANSFORMS[transform](excerpt, RATE)
    matches = match(fingerprint(samples, rate), index)
    assert matches and matches[0].clip_id == clip_id
    assert matches[0].offset_s == pytest.approx(start_s, abs=0.08)  # codec delay is a few ms


def test_unrelated_speech_music_and_noise_match_nothing(registry):
    _, index = registry
    t = np.arange(8 * RATE) / RATE
    music = sum(np.sin(2 * np.pi * f * t) * np.exp(-4 * (t % 0.5)) for f in (261.6, 329.6, 392.0, 523.2)) / 8
    unrelated = {
        "other sentence, same voice": piper_speech(MORE[2])[0],
        "other voice": espeak_speech(SENTENCES[4], voice="en-us+f3")[0],
        "music": music.astype(np.float32),
        "noise": 0.1 * white_noise(8 * RATE),
    }
    for name, samples in unrelated.items():
        assert match(fingerprint(samples, RATE), index) == [], name


def test_fingerprint_is_deterministic_and_independent_of_sample_rate(registry):
    clips, index = registry
    hashes = fingerprint(clips["gen-b"], RATE)
    assert hashes == fingerprint(clips["gen-b"], RATE)
    at_48k = resample(clips["gen-b"], RATE, 48000)
    best = match(fingerprint(at_48k, 48000), index)[0]
    assert best.clip_id == "gen-b" and best.offset_s == 0.0
    seconds = clips["gen-b"].size / RATE
    assert 20 < len(hashes) / seconds < 80 and frame_seconds == 0.016


def test_silence_and_tiny_inputs_give_no_hashes():
    assert fingerprint(np.zeros(16000, np.float32), 16000) == []
    assert fingerprint(np.zeros(10, np.float32), 16000) == []
