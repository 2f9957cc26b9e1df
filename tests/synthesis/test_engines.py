"""Engines speak each language audibly, honour options, stream lazily and refuse clearly."""
from __future__ import annotations

import numpy as np
import pytest

from synthesis.engines import engine_for_language, get_engine
from synthesis.engines.base import InvalidSynthesisOption, SynthesisOptions
from synthesis.engines.kokoro import KokoroEngine, stock_profile
from synthesis.enrollment import f0_statistics
from synthesis.frontend import prepare_text
from synthesis.instructions import UnsupportedInstruction, apply_instruction, parse_instruction
from synthesis.profile import VoiceProfile


def speak(text: str, language: str, options: SynthesisOptions | None = None, profile=None):
    units = prepare_text(text, language)
    engine = engine_for_language(units[0].language)
    chunks = list(engine.synthesize(units, profile, options))
    return np.concatenate([c.samples for c in chunks]), engine.sample_rate, chunks


def speech_seconds(audio: np.ndarray, rate: int) -> float:
    frame = rate // 50
    frames = audio[: audio.size // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    return float((rms > 0.02).sum() / 50)


@pytest.mark.parametrize("text, language, min_s, max_s", [
    ("你好，这是本地合成的语音。", "zh", 1.2, 5.0),
    ("Hello, this speech was made on this machine.", "en", 1.2, 5.0),
    ("こんにちは。今日の説明を始めます。", "ja", 1.2, 6.0),
    ("Hola, esta voz se ha generado en este ordenador.", "es", 1.2, 6.0),
    ("Bonjour, cette voix a été créée sur cette machine.", "fr", 1.2, 6.0),
    ("नमस्ते, यह आवाज़ इसी कंप्यूटर पर बनी है।", "hi", 1.0, 6.0),
    ("Ciao, questa voce è stata creata su questa macchina.", "it", 1.2, 6.0),
    ("Olá, esta voz foi criada neste computador.", "pt", 1.2, 6.0),
    ("你好，呢段声音系喺呢部电脑度整嘅。", "yue", 1.0, 8.0),
    ("안녕하세요, 이 목소리는 이 컴퓨터에서 만들었습니다.", "ko", 1.0, 8.0),
])
def test_each_language_produces_speech_of_plausible_length(text, language, min_s, max_s):
    audio, rate, _ = speak(text, language)
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert min_s <= speech_seconds(audio, rate) <= max_s


def test_basic_tier_languages_are_labelled_as_not_in_the_enrolled_voice():
    _, _, chunks = speak("你好，我系香港人。", "yue")
    assert chunks[0].extra["tier"] == "basic"
    assert get_engine("espeak").clones_voice is False


def test_slower_instruction_makes_longer_audio_and_faster_shorter():
    text = "The quick brown fox jumps over the lazy dog."
    normal, rate, _ = speak(text, "en")
    slow, _, _ = speak(text, "en", apply_instruction(SynthesisOptions(), parse_instruction("slowly", "en")))
    fast, _, _ = speak(text, "en", apply_instruction(SynthesisOptions(), parse_instruction("快一点", "zh")))
    assert speech_seconds(slow, rate) > 1.12 * speech_seconds(normal, rate)
    assert speech_seconds(fast, rate) < 0.92 * speech_seconds(normal, rate)


def test_louder_and_softer_change_loudness_and_excited_raises_pitch():
    text = "The quick brown fox jumps over the lazy dog."
    normal, rate, _ = speak(text, "en")
    softer, _, _ = speak(text, "en", apply_instruction(SynthesisOptions(), parse_instruction("小声", "zh")))
    excited, _, _ = speak(text, "en", apply_instruction(SynthesisOptions(), parse_instruction("excited", "en")))
    rms = lambda a: float(np.sqrt(np.mean(a ** 2)))  # noqa: E731
    assert rms(softer) < 0.6 * rms(normal)
    assert f0_statistics(excited, rate)[0] > f0_statistics(normal, rate)[0] * 1.04


def test_pause_instruction_lengthens_the_gap_between_sentences():
    text = "One sentence here. And another one there."
    normal, rate, _ = speak(text, "en")
    paused, _, _ = speak(text, "en", apply_instruction(SynthesisOptions(), parse_instruction(
        "pause longer between sentences", "en")))
    assert paused.size - normal.size > 0.4 * rate  # two pauses of 0.35 s, each 1.8x longer


@pytest.mark.parametrize("instruction", ["用四川话说", "in a Scottish accent", "sing it", "make it sound robotic"])
def test_instructions_the_engine_cannot_honour_are_refused_naming_what_works(instruction):
    with pytest.raises(UnsupportedInstruction) as caught:
        parse_instruction(instruction, "zh")
    assert "slow" in caught.value.message and "calm" in caught.value.message


def test_speed_outside_the_range_is_refused():
    with pytest.raises(InvalidSynthesisOption, match="0.5 to 2.0"):
        SynthesisOptions(speed=2.5)


def test_chunks_stream_one_sentence_at_a_time_before_later_sentences_are_synthesized():
    engine = KokoroEngine()
    units = prepare_text("First sentence. Second sentence. Third sentence.", "en")
    stream = engine.synthesize(units, stock_profile(), SynthesisOptions())
    first = next(stream)
    assert first.unit_index == 0 and first.text == "First sentence." and first.duration_s > 0.5
    assert engine.runs == 1  # the second and third sentences have not been synthesized yet
    rest = list(stream)
    assert [c.unit_index for c in rest] == [1, 2] and engine.runs == 3


def test_voice_profile_survives_serialisation_and_changes_the_voice():
    profile = stock_profile("jf_alpha")
    profile.pitch_semitones = -2.0
    restored = VoiceProfile.from_bytes(profile.to_bytes())
    assert np.array_equal(restored.style, profile.style) and restored.pitch_semitones == -2.0
    female, rate, _ = speak("The quick brown fox jumps over the lazy dog.", "en", profile=stock_profile("jf_alpha"))
    male, _, _ = speak("The quick brown fox jumps over the lazy dog.", "en", profile=stock_profile("jm_kumo"))
    assert f0_statistics(female, rate)[0] > 1.4 * f0_statistics(male, rate)[0]


def test_cosyvoice_engine_refuses_without_a_model_directory(monkeypatch):
    from synthesis.engines.cosyvoice import CosyVoiceEngine, EngineNotConfigured

    monkeypatch.delenv("VOICEGATE_COSYVOICE_MODEL_DIR", raising=False)
    engine = CosyVoiceEngine()
    assert engine.languages() == []
    with pytest.raises(EngineNotConfigured, match="VOICEGATE_COSYVOICE_MODEL_DIR"):
        list(engine.synthesize(prepare_text("Hello.", "en"), None))
