import numpy as np
import pytest

from consent.speaker import embed_speaker
from consent.verification import (
    SAME_SPEAKER_THRESHOLD, best_match, compare_statement, recogniser_available, transcript_matches)
from tests.audio_checks.conftest import RATE
from tests.audio_checks.voices import SENTENCES, espeak_speech, piper_speech
from voicegate.audio import decode_audio, encode_audio


@pytest.fixture(scope="module")
def references(piper_reference):
    return [(piper_reference, RATE)]


def test_statement_in_the_same_voice_is_verified_with_its_similarity(references):
    comparison = compare_statement(piper_speech(SENTENCES[1]), references)
    assert comparison.same_speaker and comparison.speaker_similarity >= SAME_SPEAKER_THRESHOLD
    assert not comparison.is_copy_of_reference


@pytest.mark.parametrize("voice", ["en-us+f3", "en-us+m3"])
def test_statement_in_another_voice_is_rejected(references, voice):
    comparison = compare_statement(espeak_speech(SENTENCES[1], voice=voice), references)
    assert not comparison.same_speaker and comparison.speaker_similarity < 0.65
    assert comparison.threshold == SAME_SPEAKER_THRESHOLD


def test_re_encoded_trimmed_quieter_copy_of_a_reference_is_detected(references, piper_reference):
    copy = decode_audio(encode_audio(piper_reference[int(0.9 * RATE):] * 0.5, RATE, "mp3", bitrate="64k"))
    comparison = compare_statement((copy.samples, copy.sample_rate), references)
    assert comparison.is_copy_of_reference and comparison.copied_reference_index == 0
    assert comparison.same_speaker  # the speaker check alone would have let it through


def test_best_match_returns_the_closest_protected_voice_above_threshold(piper_reference):
    piper = embed_speaker(piper_reference, RATE)
    candidates = [("espeak-f", embed_speaker(*espeak_speech(SENTENCES[3]))),
                  ("joe", embed_speaker(*piper_speech(SENTENCES[4])))]
    found = best_match(piper, candidates)
    assert found is not None and found[0] == "joe" and found[1] > 0.85
    assert best_match(piper, candidates[:1]) is None
    assert best_match(piper, []) is None


@pytest.mark.skipif(not recogniser_available("en"), reason="the offline Whisper packages are not installed")
def test_transcript_check_accepts_the_read_text_and_rejects_other_text():
    statement = piper_speech(SENTENCES[1])
    read = transcript_matches(statement, SENTENCES[1], "en")
    assert read is not None and read.matches and read.similarity > 0.9
    other = transcript_matches(statement, SENTENCES[3], "en")
    assert other is not None and not other.matches


def test_language_without_a_recogniser_gives_none():
    assert transcript_matches((np.zeros(RATE, np.float32), RATE), "text", "tlh") is None
