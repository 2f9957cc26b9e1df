"""Engines speak each language audibly, honour options, stream lazily and refuse clearly."""
from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

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


# --------------------------------------------------------------------------- the CPU-tuned Kokoro model
def tiny_quantised_model(folder):
    """A float 1-D conv net and its dynamically quantised (ConvInteger) version, as Kokoro's was made."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(0)
    weights = {"w1": rng.normal(size=(8, 4, 5)) * 0.3, "b1": rng.normal(size=8) * 0.1,
               "w2": rng.normal(size=(4, 8, 3)) * 0.3, "b2": rng.normal(size=4) * 0.1}
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["h"], name="/decoder/decoder/generator/conv1", pads=[2, 2]),
         helper.make_node("Relu", ["h"], ["r"], name="relu"),
         helper.make_node("Conv", ["r", "w2", "b2"], ["y"], name="/decoder/decoder/generator/conv2", pads=[1, 1])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, None])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()])
    float_model, quantised = folder / "float.onnx", folder / "int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(float_model))
    quantize_dynamic(str(float_model), str(quantised), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv"])
    return float_model, quantised


def run_model(path, x):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_tuned_rewrite_computes_what_the_quantised_model_computes_with_float_2d_convs(tmp_path):
    import onnx

    from synthesis.engines.onnx_tuning import tuned_model_path

    float_model, quantised = tiny_quantised_model(tmp_path)
    tuned = tuned_model_path(quantised, tmp_path / "cache")
    ops = [node.op_type for node in onnx.load(str(tuned)).graph.node]
    assert "ConvInteger" not in ops and "DynamicQuantizeLinear" not in ops and ops.count("Conv") == 2
    x = np.random.default_rng(1).normal(size=(1, 4, 64)).astype(np.float32)
    reference, int8, rewritten = run_model(float_model, x), run_model(quantised, x), run_model(tuned, x)
    assert rewritten.shape == reference.shape
    # Only the weights' quantisation error is left (the int8 model also quantises activations).
    assert np.abs(rewritten - reference).max() <= np.abs(int8 - reference).max() + 1e-3
    assert np.abs(rewritten - reference).max() < 0.02 * np.abs(reference).max()


def test_workers_starting_together_build_the_tuned_model_once_and_all_load_it(tmp_path):
    import multiprocessing

    from synthesis.engines import onnx_tuning

    _, quantised = tiny_quantised_model(tmp_path)
    cache, log = tmp_path / "cache", tmp_path / "builds.log"
    build = onnx_tuning.write_float_conv_model

    def slow_logged_build(source, target):  # widen the race: a real rewrite takes ~5 s
        with open(log, "a") as handle:
            handle.write("build\n")
        time.sleep(0.5)
        return build(source, target)

    def worker(queue):
        onnx_tuning.write_float_conv_model = slow_logged_build
        queue.put(str(onnx_tuning.tuned_model_path(quantised, cache)))

    context = multiprocessing.get_context("fork")  # children only run onnx + filelock, no ORT threads
    queue = context.Queue()
    processes = [context.Process(target=worker, args=(queue,)) for _ in range(3)]
    for process in processes:
        process.start()
    paths = {queue.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert log.read_text().count("build") == 1 and len(paths) == 1
    assert not list(cache.glob("*.part"))
    x = np.ones((1, 4, 16), np.float32)
    assert run_model(paths.pop(), x).shape == (1, 4, 16)


def test_kokoro_runs_the_tuned_model_by_default_and_the_packaged_one_when_turned_off(monkeypatch):
    from synthesis.engines import kokoro

    monkeypatch.delenv(kokoro.TUNED_SETTING, raising=False)
    assert kokoro.model_file() != kokoro.packaged_model_file() and "conv2d" in kokoro.model_file().name
    monkeypatch.setenv(kokoro.TUNED_SETTING, "off")
    assert kokoro.model_file() == kokoro.packaged_model_file()
    monkeypatch.setenv(kokoro.TUNED_SETTING, "maybe")
    with pytest.raises(ImproperlyConfigured, match="VOICEGATE_KOKORO_TUNED"):
        kokoro.model_file()


def test_kokoro_falls_back_to_the_packaged_model_with_a_warning_when_the_rewrite_cannot_be_made(
        monkeypatch, tmp_path, caplog):
    from synthesis.engines import kokoro
    from synthesis.engines.onnx_tuning import CACHE_SETTING

    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the model cache should be")
    monkeypatch.setenv(CACHE_SETTING, str(not_a_folder))
    monkeypatch.delenv(kokoro.TUNED_SETTING, raising=False)
    with caplog.at_level(logging.WARNING, logger=kokoro.__name__):
        assert kokoro.model_file() == kokoro.packaged_model_file()
    assert "packaged int8 model" in caplog.text


def test_tuned_model_speaks_like_the_packaged_model():
    from consent.speaker import embed_speaker, speaker_similarity
    from synthesis.engines import kokoro

    phonemes = prepare_text("The meeting starts at three this afternoon.", "en")[0].phonemes
    feed = {"tokens": np.array([[0, *kokoro.tokenize(phonemes), 0]], np.int64),
            "style": stock_profile().style_for(len(kokoro.tokenize(phonemes))).reshape(1, -1),
            "speed": np.array([1.0], np.float32)}
    packaged = kokoro.load_session(kokoro.packaged_model_file(), 2).run(None, feed)[0].ravel()
    tuned = kokoro._session(KokoroEngine().threads).run(None, feed)[0].ravel()
    assert tuned.size == packaged.size  # same durations: the duration predictor is untouched
    similarity = speaker_similarity(embed_speaker(tuned, kokoro.SAMPLE_RATE), embed_speaker(packaged, kokoro.SAMPLE_RATE))
    assert similarity >= 0.99
