"""The judges enrollment does not optimise: a Whisper-encoder speaker embedding, and the veto rule."""
from __future__ import annotations

import numpy as np

from synthesis import judges
from synthesis.enrollment import objective, vetoed
from tests.speech import SENTENCES, speech

CEILINGS = {"resemblyzer": 0.85, "whisper": 0.6}
BEST = {"resemblyzer": 0.80, "whisper": 0.40, "f0_gap_st": 1.0, "spectral_distance": 20.0}


def test_a_candidate_only_resemblyzer_believes_in_is_vetoed():
    # beyond the owner's second recording on Resemblyzer, while the Whisper judge falls
    assert vetoed({**BEST, "resemblyzer": 0.90, "whisper": 0.35}, BEST, CEILINGS)
    # ... or while the envelope moves away
    assert vetoed({**BEST, "resemblyzer": 0.90, "spectral_distance": 25.0}, BEST, CEILINGS)
    # not when every other judge holds
    assert not vetoed({**BEST, "resemblyzer": 0.90, "whisper": 0.42}, BEST, CEILINGS)
    # nor below the owner's own score, where Resemblyzer is still believable
    assert not vetoed({**BEST, "resemblyzer": 0.84, "whisper": 0.35}, BEST, CEILINGS)


def test_similarity_beyond_the_second_recording_counts_for_nothing():
    at_ceiling = objective({**BEST, "resemblyzer": 0.85}, CEILINGS)
    assert objective({**BEST, "resemblyzer": 0.99}, CEILINGS) == at_ceiling
    assert objective({**BEST, "whisper": 0.5}, CEILINGS) > objective(BEST, CEILINGS)


def test_the_whisper_judge_tells_one_voice_from_another():
    assert judges.whisper_background().shape == (1024,)
    piper = [speech(s, "piper", 16000) for s in SENTENCES[:3]]
    espeak = speech(SENTENCES[3], "espeak", 16000)
    owner = judges.centroid([judges.whisper_embedding(a, 16000) for a in piper[:2]])
    same = judges.cosine(judges.whisper_embedding(piper[2], 16000), owner)
    other = judges.cosine(judges.whisper_embedding(espeak, 16000), owner)
    assert same > other + 0.2, (same, other)


def test_the_owner_is_described_with_a_second_recording_score_per_judge():
    clips = [(speech(s, "piper", 16000), 16000) for s in SENTENCES[:2]]
    target = judges.describe_owner(clips)
    assert set(target.ceilings) == {"resemblyzer", "whisper"}
    assert 0.7 < target.ceilings["resemblyzer"] <= 1.0 and target.channel_rate is None
    narrow = judges.describe_owner([(judges.resample(a, 16000, 8000), 8000) for a, _ in clips])
    assert narrow.channel_rate == 8000
    assert np.all(np.isfinite(narrow.mfcc_mean))
