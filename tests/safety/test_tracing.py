"""Uploads are traced to their generation through watermark and fingerprint, and voices are screened."""
from __future__ import annotations

import json

import numpy as np
import pytest

from consent.models import ProtectedVoice, Voice
from consent.speaker import embed_speaker
from voicegate.audio import encode_audio

from .conftest import RATE, music_like, upload, wav, whiten


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "ogg"])
def test_made_here_clip_is_traced_after_lossy_reencoding(tenant, made_here, fmt):
    generation, marked = made_here
    response = upload(tenant.moderator.client, encode_audio(marked, RATE, fmt), f"clip.{fmt}")
    assert response.status_code == 201, response.content
    report = response.json()["report"]
    assert report["verdict"] == "generated_here"
    assert report["generation_id"] == str(generation.pk)
    assert report["watermark"]["detected"] and report["watermark"]["payload"] == generation.watermark_payload.hex()
    assert report["fingerprint"]["generation_id"] == str(generation.pk)


def test_three_second_excerpt_is_traced_with_its_offset(tenant, made_here):
    generation, marked = made_here
    excerpt = marked[4 * RATE:7 * RATE]
    report = upload(tenant.moderator.client, encode_audio(excerpt, RATE, "mp3"), "short.mp3").json()["report"]
    assert report["verdict"] == "generated_here" and report["generation_id"] == str(generation.pk)
    assert report["fingerprint"]["offset_s"] == pytest.approx(4.0, abs=0.1)


def test_spliced_clip_is_traced_to_the_generation_and_where_it_starts(tenant, made_here, other_speech):
    generation, marked = made_here
    spliced = np.concatenate([other_speech[:3 * RATE], marked[2 * RATE:7 * RATE], other_speech[3 * RATE:6 * RATE]])
    report = upload(tenant.moderator.client, wav(spliced)).json()["report"]
    assert report["verdict"] == "generated_here" and report["generation_id"] == str(generation.pk)
    best = report["fingerprint"]["matches"][0]
    assert best["clip_offset_s"] == pytest.approx(0.0, abs=0.1) or best["query_offset_s"] == pytest.approx(1.0, abs=0.1)
    # the aligned material: output second 2 sits at upload second 3
    assert best["query_offset_s"] - best["clip_offset_s"] == pytest.approx(1.0, abs=0.1)


def test_clip_with_destroyed_watermark_is_still_found_in_the_fingerprint_registry(tenant, made_here):
    generation, marked = made_here
    filtered = whiten(marked)
    report = upload(tenant.moderator.client, encode_audio(filtered, RATE, "mp3"), "filtered.mp3").json()["report"]
    assert report["watermark"]["detected"] is False
    assert report["verdict"] == "generated_here" and report["generation_id"] == str(generation.pk)
    assert "No intact watermark" in report["explanation"] and "fingerprint registry" in report["explanation"]


@pytest.mark.parametrize("kind", ["piper", "espeak"])
def test_unmarked_speech_of_other_generators_is_likely_ai_generated(tenant, made_here, other_speech, robot_speech,
                                                                    kind):
    clip = {"piper": other_speech, "espeak": robot_speech}[kind]
    report = upload(tenant.moderator.client, wav(clip)).json()["report"]
    assert report["verdict"] == "likely_ai_generated", report["explanation"]
    assert not report["fingerprint"]["matched"] and not report["watermark"]["detected"]
    assert report["synthetic_speech"]["detected"]


def test_music_gives_no_evidence_never_authentic(tenant, made_here):
    report = upload(tenant.moderator.client, wav(music_like())).json()["report"]
    assert report["verdict"] == "no_evidence", report["explanation"]
    assert not report["fingerprint"]["matched"] and not report["watermark"]["detected"]
    assert "authentic" in report["explanation"] and "does not show" in report["explanation"]


@pytest.fixture(scope="module")
def narrator_embedding(narration):
    return embed_speaker(narration, RATE)


def test_real_speaker_matching_an_enrolled_voice_without_a_record_is_flagged(tenant, narrator_embedding,
                                                                              other_speech):
    voice = Voice.objects.create(organisation=tenant.organisation, name="Joe (enrolled)",
                                 embedding=narrator_embedding.tolist())
    report = upload(tenant.moderator.client, wav(other_speech)).json()["report"]
    assert report["verdict"] == "possible_clone_of_enrolled_voice", report["explanation"]
    match = report["voice_matches"][0]
    assert match["voice_id"] == str(voice.pk) and match["name"] == "Joe (enrolled)"
    assert match["similarity"] >= report["voice_analysis"]["threshold"] and match["flagged"]
    assert "Joe (enrolled)" in report["explanation"]


def test_protected_voice_is_flagged_for_every_organisation(other_tenant, narrator_embedding, other_speech):
    protected = ProtectedVoice.objects.create(name="Famous Anchor", reason="public figure",
                                              embeddings=[narrator_embedding.tolist()])
    report = upload(other_tenant.moderator.client, encode_audio(other_speech, RATE, "m4a"), "x.m4a").json()["report"]
    assert report["verdict"] == "possible_clone_of_protected_voice"
    match = report["voice_matches"][0]
    assert match["protected_voice_id"] == str(protected.pk) and match["name"] == "Famous Anchor"


def test_enrolled_voice_of_another_organisation_is_not_compared(other_tenant, tenant, narrator_embedding,
                                                                 other_speech):
    Voice.objects.create(organisation=tenant.organisation, name="Acme's Joe", embedding=narrator_embedding.tolist())
    report = upload(other_tenant.moderator.client, wav(other_speech)).json()["report"]
    # not a clone of the other organisation's voice; the detector still hears a synthetic voice
    assert report["verdict"] == "likely_ai_generated" and report["voice_matches"] == []


def test_other_organisation_learns_only_platform_time_and_consent(tenant, other_tenant, made_here):
    generation, marked = made_here
    response = upload(other_tenant.moderator.client, wav(marked[:6 * RATE]))
    report = response.json()["report"]
    assert report["verdict"] == "generated_here"
    seen = report["watermark"]["generation"]
    assert seen["disclosure"] == "limited" and seen["consent_id"] == str(generation.consent_id)
    assert seen["created_at"] and "voice_name" not in seen and "user" not in seen and "text_hash" not in seen
    text = json.dumps(response.json())
    for private in (tenant.organisation.name, generation.voice.name, generation.text_hash,
                    tenant.producer.username):
        assert private not in text
    own = upload(tenant.moderator.client, wav(marked[:6 * RATE])).json()["report"]["watermark"]["generation"]
    assert own["disclosure"] == "full" and own["voice_name"] == generation.voice.name
    assert own["user"] == tenant.producer.username and own["text_hash"] == generation.text_hash
