"""A clip made here with a stock voice verifies as generated_here, naming the stock voice, not a consent."""
from __future__ import annotations

import json

import pytest

from safety.evidence import Evidence, FingerprintEvidence, GenerationRef, ManifestEvidence, WatermarkEvidence, decide

from .conftest import upload

pytestmark = pytest.mark.django_db


def test_a_stock_voice_clip_is_generated_here_with_the_voice_named_and_no_consent(tenant, other_tenant, settings,
                                                                                  tmp_path):
    from synthesis import services
    from watermark.manifest import generate_dev_ca

    paths = generate_dev_ca(tmp_path / "ca")  # the outputs' manifests are signed
    settings.PROVENANCE_CERT_CHAIN, settings.PROVENANCE_PRIVATE_KEY = paths["cert_chain"], paths["private_key"]
    generation = services.synthesize_now(user=tenant.producer.user, stock_voice="jm_kumo", language="en",
                                         text="Good morning. This clip is short.")
    clip = services.read_output(generation)

    response = upload(tenant.moderator.client, clip, "stock.wav")
    assert response.status_code == 201, response.content
    report = response.json()["report"]
    assert report["verdict"] == "generated_here" and report["generation_id"] == str(generation.pk)
    seen = report["watermark"]["generation"]
    assert seen["stock_voice"] == "jm_kumo" and seen["consent_id"] is None and seen["voice_id"] is None
    assert "stock voice jm_kumo" in report["explanation"] and "consent record " not in report["explanation"]
    assert "not a sign of cloning" in report["explanation"]
    assert report["manifest"]["ours"] and report["manifest"]["voice"] == "stock voice jm_kumo"
    assert any("stock voice jm_kumo" in label["text"] for label in report["labels"])

    # Another organisation's moderator learns it was made here, when, and with which stock voice; nothing else.
    rival = upload(other_tenant.moderator.client, clip, "stock.wav").json()
    limited = rival["report"]["watermark"]["generation"]
    assert rival["report"]["verdict"] == "generated_here"
    assert limited["disclosure"] == "limited" and limited["stock_voice"] == "jm_kumo" and limited["consent_id"] is None
    assert "user" not in limited and "text_hash" not in limited
    assert tenant.organisation.name not in json.dumps(rival) and generation.text_hash not in json.dumps(rival)


def test_the_explanation_of_a_stock_voice_record_names_the_voice():
    ref = GenerationRef("gen-1", "2025-05-01T10:00:00+00:00", None, False, stock_voice="af_heart")
    finding = decide(Evidence(WatermarkEvidence(True, 0.97, "0a0b0c0d", [(0.0, 3.0)], ref), FingerprintEvidence(90),
                              ManifestEvidence(present=False)))
    assert finding.verdict == "generated_here"
    assert "with stock voice af_heart (no consent record: it clones no one)" in finding.explanation
    assert "under consent record" not in finding.explanation and "covered by that record's consent" not in \
        finding.explanation
    assert ref.as_dict() == {"generation_id": "gen-1", "created_at": "2025-05-01T10:00:00+00:00", "consent_id": None,
                             "disclosure": "limited", "stock_voice": "af_heart",
                             "organisation": "another organisation on this platform"}
