"""The verdict rules: each branch, and which evidence wins when several point different ways."""
from __future__ import annotations

from safety.evidence import (Evidence, FingerprintEvidence, FingerprintHit, GenerationRef, Label, ManifestEvidence,
                             SyntheticSpeechEvidence, VoiceMatch, WatermarkEvidence, decide)

NO_MARK = WatermarkEvidence(False, 0.0, None)
NO_PRINT = FingerprintEvidence(120)
NO_MANIFEST = ManifestEvidence(present=False)
REF = GenerationRef("gen-1", "2025-05-01T10:00:00+00:00", "consent-9", False)
CLONE_OF_ANN = VoiceMatch("enrolled", "voice-ann", "Ann", 0.83, True)
CLONE_OF_PM = VoiceMatch("protected", "pv-1", "Prime Minister", 0.79, True)
SOUNDS_SYNTHETIC = SyntheticSpeechEvidence(True, True, 0.97, True, "sounds synthesised", 0.08, 0.004,
                                           {"suspicious_segments": [[0.5, 4.0]]})
SOUNDS_HUMAN = SyntheticSpeechEvidence(True, True, 0.03, False, "no sign of synthesis", 0.08, 0.004)
OTHER_LABEL = Label("mp3 metadata: GB 45438 AIGC", "provider ElevenLabs", "ElevenLabs", False, True)


def evidence(**kwargs) -> Evidence:
    base = {"watermark": NO_MARK, "fingerprint": NO_PRINT, "manifest": NO_MANIFEST}
    base.update(kwargs)
    return Evidence(**base)


def test_watermark_pointing_to_a_generation_is_generated_here_with_time_and_consent():
    finding = decide(evidence(watermark=WatermarkEvidence(True, 0.97, "0a0b0c0d", [(0.0, 6.0)], REF)))
    assert finding.verdict == "generated_here" and finding.generation_id == "gen-1"
    assert "0a0b0c0d" in finding.explanation and "consent-9" in finding.explanation


def test_fingerprint_alone_is_generated_here_when_the_watermark_is_gone():
    hit = FingerprintHit("gen-2", 40, 300, 3.2, 0.0, None)
    finding = decide(evidence(fingerprint=FingerprintEvidence(300, [hit])))
    assert finding.verdict == "generated_here" and finding.generation_id == "gen-2"
    assert "No intact watermark" in finding.explanation and "40 of 300" in finding.explanation


def test_a_fingerprint_found_after_a_speed_change_says_which_change():
    hit = FingerprintHit("gen-2", 40, 250, 3.2, 0.0, None, time_scale=0.9512, freq_scale=1.0513)
    finding = decide(evidence(fingerprint=FingerprintEvidence(300, [hit])))
    assert finding.verdict == "generated_here" and "(playback speed +5.1%)" in finding.explanation
    assert FingerprintHit("g", 9, 9, 0, 0, None, 1.0, 1.0592).change() == "pitch shifted +5.9%"
    assert FingerprintHit("g", 9, 9, 0, 0, None, 1.0526, 1.0).change() == "tempo changed -5.0%"
    assert hit.as_dict()["time_scale"] == 0.9512


def test_our_valid_manifest_alone_is_generated_here():
    manifest = ManifestEvidence(present=True, valid=True, ours=True, ai_generated=True, generation_id="gen-3",
                                claim_generator="voicegate/1.0", signature_valid=True, hash_binding_valid=True)
    assert decide(evidence(manifest=manifest)).verdict == "generated_here"


def test_our_manifest_with_a_broken_hash_binding_proves_nothing_and_reads_as_a_label():
    manifest = ManifestEvidence(present=True, valid=False, ours=True, ai_generated=True, generation_id="gen-3",
                                hash_binding_valid=False, errors=["assertion.dataHash.mismatch"])
    finding = decide(evidence(manifest=manifest))
    assert finding.verdict == "labelled_ai_elsewhere" and "unverifiable" in finding.explanation


def test_a_record_outranks_a_voice_match():
    finding = decide(evidence(watermark=WatermarkEvidence(True, 0.9, "01020304", [], REF),
                              voice_matches=[CLONE_OF_PM, CLONE_OF_ANN]))
    assert finding.verdict == "generated_here"


def test_protected_voice_outranks_enrolled_voice_and_labels():
    finding = decide(evidence(voice_matches=[CLONE_OF_ANN, CLONE_OF_PM], labels=[OTHER_LABEL]))
    assert finding.verdict == "possible_clone_of_protected_voice"
    assert "Prime Minister" in finding.explanation and "ElevenLabs" in finding.explanation


def test_enrolled_voice_without_record_is_a_possible_clone():
    finding = decide(evidence(voice_matches=[CLONE_OF_ANN]))
    assert finding.verdict == "possible_clone_of_enrolled_voice" and "0.83" in finding.explanation


def test_unflagged_similarity_is_context_not_a_verdict():
    near = VoiceMatch("enrolled", "voice-ann", "Ann", 0.66, False)
    finding = decide(evidence(voice_matches=[near]))
    assert finding.verdict == "no_evidence" and "0.66" in finding.explanation


def test_another_providers_label_is_labelled_ai_elsewhere():
    finding = decide(evidence(labels=[OTHER_LABEL]))
    assert finding.verdict == "labelled_ai_elsewhere" and "ElevenLabs" in finding.explanation


def test_nothing_found_is_no_evidence_never_authentic():
    finding = decide(evidence())
    assert finding.verdict == "no_evidence" and finding.generation_id is None
    assert "does not show the clip is authentic" in finding.explanation


def test_other_organisation_sees_only_platform_time_and_consent():
    ref = GenerationRef("gen-1", "2025-05-01", "consent-9", False, {"user": "alice", "voice_name": "Ann"})
    assert ref.as_dict() == {"generation_id": "gen-1", "created_at": "2025-05-01", "consent_id": "consent-9",
                             "disclosure": "limited", "organisation": "another organisation on this platform"}
    own = GenerationRef("gen-1", "2025-05-01", "consent-9", True, {"user": "alice", "voice_name": "Ann"}).as_dict()
    assert own["user"] == "alice" and own["disclosure"] == "full"


def test_the_detector_alone_gives_likely_ai_generated_citing_its_error_rates():
    finding = decide(evidence(synthetic=SOUNDS_SYNTHETIC))
    assert finding.verdict == "likely_ai_generated" and finding.generation_id is None
    assert "0.97" in finding.explanation and "0.5-4.0 s" in finding.explanation
    assert "misses about 8%" in finding.explanation and "flags about 0.4%" in finding.explanation


def test_a_low_detector_score_is_never_called_authentic():
    finding = decide(evidence(synthetic=SOUNDS_HUMAN))
    assert finding.verdict == "no_evidence"
    assert "found no sign of synthesis" in finding.explanation and "not proof of a human speaker" in finding.explanation


def test_provenance_labels_and_clones_win_over_the_detector_which_corroborates():
    ours = decide(evidence(watermark=WatermarkEvidence(True, 0.97, "0a0b0c0d", [(0.0, 6.0)], REF),
                           synthetic=SOUNDS_SYNTHETIC))
    assert ours.verdict == "generated_here" and "Corroboration: the synthetic-speech detector" in ours.explanation
    clone = decide(evidence(voice_matches=[CLONE_OF_PM], synthetic=SOUNDS_SYNTHETIC))
    assert clone.verdict == "possible_clone_of_protected_voice" and "sounds synthesised" in clone.explanation
    labelled = decide(evidence(labels=[OTHER_LABEL], synthetic=SOUNDS_SYNTHETIC))
    assert labelled.verdict == "labelled_ai_elsewhere" and "0.97" in labelled.explanation


def test_a_detector_that_failed_to_run_is_reported_not_hidden():
    finding = decide(evidence(synthetic=SyntheticSpeechEvidence(available=False)))
    assert finding.verdict == "no_evidence" and "detector failed to run" in finding.explanation
