"""Enrollment makes Kokoro sound more like the owner (the Piper 'joe' voice stands in for one)."""
from __future__ import annotations

import numpy as np

from consent.speaker import embed_speaker, mean_embedding, speaker_similarity
from synthesis.engines import get_engine
from synthesis.engines.kokoro import stock_profile
from synthesis.enrollment import enroll_voice
from synthesis.frontend import prepare_text
from tests.speech import SENTENCES, speech

PIPER_RATE = 22050


def test_enrollment_with_a_small_budget_beats_the_best_stock_voice_on_held_out_audio():
    enrollment_clips = [(speech(s, "piper", PIPER_RATE), PIPER_RATE) for s in SENTENCES[:2]]
    held_out = mean_embedding([embed_speaker(speech(s, "piper", PIPER_RATE), PIPER_RATE) for s in SENTENCES[7:11]])
    steps: list[float] = []

    # capped by evaluations, not seconds, so the search is the same on a busy machine
    result = enroll_voice(enrollment_clips, budget_s=300, max_evaluations=12,
                          progress=lambda f, _: steps.append(f), seed=1)

    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(steps)
    assert result.evaluations <= 12
    assert result.similarity_after >= result.similarity_before
    engine = get_engine("kokoro")
    units = prepare_text(" ".join(SENTENCES[7:9]), "en")  # text the enrollment never heard

    def held_out_similarity(profile) -> float:
        audio = np.concatenate([c.samples for c in engine.synthesize(units, profile)])
        return speaker_similarity(embed_speaker(audio, engine.sample_rate), held_out)

    stock = held_out_similarity(stock_profile(result.best_stock_voice))
    enrolled = held_out_similarity(result.profile)
    assert enrolled > stock, (enrolled, stock, result.history[-1])
