"""Enrollment makes Kokoro sound more like the owner (the Piper 'joe' voice stands in for one),
starting from the best of the 54 stock voices, and no judge it does not optimise is made worse."""
from __future__ import annotations

import numpy as np
import torch

from consent.speaker import embed_speaker, mean_embedding, speaker_similarity
from synthesis.engines import get_engine
from synthesis.engines.kokoro import model_file, stock_profile, tokenize
from synthesis.engines.kokoro_torch import InputSession, torch_decoder
from synthesis.enrollment import describe_voice, enroll_voice, mfcc_mean, spectral_distance, stock_table
from synthesis.frontend import prepare_text
from synthesis.voices import stock_packs
from tests.speech import SENTENCES, speech

PIPER_RATE = 22050


def _owner_clips(sentences) -> list[tuple[np.ndarray, int]]:
    return [(speech(s, "piper", PIPER_RATE), PIPER_RATE) for s in sentences]


def test_a_tiny_budget_starts_from_the_best_stock_voice_and_never_lowers_the_second_judge():
    clips = _owner_clips(SENTENCES[:2])
    steps: list[float] = []

    result = enroll_voice(clips, budget_s=300, max_evaluations=5, progress=lambda f, _: steps.append(f), seed=1,
                          languages=[])

    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(steps)
    assert result.evaluations <= 5
    ranking = stock_table("en").rank(describe_voice(clips))
    assert len(ranking) == 54
    assert result.best_stock_voice == ranking[0][0]  # the stock voice the judges rank first for this speaker
    assert result.start == result.best_stock_voice or result.best_stock_voice in result.start  # or its blend
    start = next(h for h in result.history if h["step"] == "start")
    assert result.judges_after["whisper"] >= start["whisper"] - 1e-4  # (figures rounded to 4 places)
    assert set(result.ceilings) == {"resemblyzer", "whisper"}  # the owner's own second-recording scores


def test_enrollment_beats_the_best_stock_voice_on_held_out_audio():
    enrollment_clips = _owner_clips(SENTENCES[:2])
    held_out_audio = [speech(s, "piper", PIPER_RATE) for s in SENTENCES[7:11]]
    held_out = mean_embedding([embed_speaker(a, PIPER_RATE) for a in held_out_audio])
    held_out_mfcc = mfcc_mean(np.concatenate(held_out_audio), PIPER_RATE)

    # capped by evaluations, not seconds, so the search is the same on a busy machine
    result = enroll_voice(enrollment_clips, budget_s=300, max_evaluations=12, seed=1, languages=[])

    assert result.similarity_after >= result.similarity_before
    engine = get_engine("kokoro")
    units = prepare_text(" ".join(SENTENCES[7:9]), "en")  # text the enrollment never heard

    def held_out_measures(profile) -> tuple[float, float]:
        audio = np.concatenate([c.samples for c in engine.synthesize(units, profile)])
        return (speaker_similarity(embed_speaker(audio, engine.sample_rate), held_out),
                spectral_distance(mfcc_mean(audio, engine.sample_rate), held_out_mfcc))

    stock, stock_spectral = held_out_measures(stock_profile(result.best_stock_voice))
    enrolled, enrolled_spectral = held_out_measures(result.profile)
    assert enrolled > stock + MARGIN, (enrolled, stock, result.history[-1])
    # a measure the similarity objective cannot game: the spectral envelope moves towards the owner's
    assert enrolled_spectral < stock_spectral, (enrolled_spectral, stock_spectral)


# A clear win, not noise: Resemblyzer's score moves by about 0.01 between model builds and by
# 0.01-0.02 between sentences.
MARGIN = 0.03


def test_the_torch_decoder_speaks_as_the_onnx_model_does():
    """Enrollment's gradients come from the torch copy of the decoder; it must be the same voice."""
    tokens = tokenize(prepare_text(SENTENCES[3], "en")[0].phonemes)
    style = stock_packs()["jf_alpha"][len(tokens) - 1]
    inputs = InputSession(model_file()).run(tokens, style)
    with torch.no_grad():
        audio = torch_decoder()(inputs, torch.from_numpy(style[:128].copy())).numpy()
        other = torch_decoder()(inputs, torch.from_numpy(stock_packs()["jm_kumo"][len(tokens) - 1, :128].copy())).numpy()

    assert audio.shape == inputs.audio.shape
    reference = embed_speaker(inputs.audio, 24000)
    assert speaker_similarity(embed_speaker(audio, 24000), reference) > 0.98
    # and the timbre half does drive it: another stock voice's timbre is another voice
    assert speaker_similarity(embed_speaker(other, 24000), reference) < 0.9
