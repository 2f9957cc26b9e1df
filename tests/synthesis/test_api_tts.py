"""POST /tts: the source articles' API shape, consent-gated (voice_id or a matching reference_audio)."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from consent import services as consent_services
from synthesis.models import Generation
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import (HELD_OUT_SENTENCE, assert_marked_for, b64_wav, decode,
                                                    espeak_speech, piper_speech)

pytestmark = pytest.mark.django_db


def test_tts_with_voice_id_returns_marked_labelled_wav(tenant, ready_voice):
    from watermark.labels import read_labels

    response = tenant.producer.client.post("/tts", {"text": "Hello from the tts endpoint.", "language": "en",
                                                    "voice_id": str(ready_voice.pk), "speed": 1.0,
                                                    "emotion": "happy"}, format="json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "audio/wav" and response["X-AI-Generated"] == "true"
    generation = Generation.objects.get(pk=response["X-Generation-Id"])
    assert generation.delivery == "sync" and generation.options["style"] == "happy"
    assert read_labels(response.content)["ai_generated"] is True
    assert_marked_for(*decode(response.content), generation)


def test_tts_accepts_reference_audio_of_an_enrolled_consented_voice(tenant, ready_voice):
    samples, rate = piper_speech(HELD_OUT_SENTENCE)  # the owner, on a sentence not used for enrollment
    response = tenant.producer.client.post("/tts", {"text": "Same voice, new words.", "language": "en",
                                                    "reference_audio": b64_wav(samples, rate)}, format="json")
    assert response.status_code == 200, response.content
    assert Generation.objects.get(pk=response["X-Generation-Id"]).voice == ready_voice


def test_tts_refuses_reference_audio_of_someone_else(tenant, ready_voice):
    samples, rate = espeak_speech(HELD_OUT_SENTENCE)
    response = tenant.producer.client.post("/tts", {"text": "Not my voice.", "language": "en",
                                                    "reference_audio": b64_wav(samples, rate)}, format="json")
    assert response.status_code == 403
    assert "does not match any enrolled voice" in response.json()["error"]
    assert Generation.objects.count() == 0


def test_tts_refuses_reference_audio_of_a_voice_whose_consent_was_revoked(tenant, ready_voice, consent):
    consent_services.revoke_consent(consent, actor=tenant.admin.user, reason="withdrawn")
    samples, rate = piper_speech(HELD_OUT_SENTENCE)
    response = tenant.producer.client.post("/tts", {"text": "Revoked.", "language": "en",
                                                    "reference_audio": b64_wav(samples, rate)}, format="json")
    assert response.status_code == 403 and "revoked on" in response.json()["error"]


def test_tts_asks_to_enroll_a_voice_first(tenant, voice, consent):
    response = tenant.producer.client.post("/tts", {"text": "Hello.", "language": "en", "voice_id": str(voice.pk)},
                                           format="json")
    assert response.status_code == 409 and "enroll it first" in response.json()["error"]


@pytest.mark.parametrize("data,status,message", [
    ({"text": "Hi."}, 400, "exactly one of voice_id, reference_audio or stock_voice"),
    ({"text": "Hi.", "reference_audio": "!!not base64!!"}, 400, "not valid base64"),
    ({"text": "x" * 1001, "voice_id": "VOICE"}, 413, "POST /api/v1/syntheses/"),
    ({"text": "Hi.", "voice_id": "VOICE", "speed": 5}, 400, "from 0.5 to 2.0"),
    ({"text": "Hi.", "voice_id": "VOICE", "emotion": "sing"}, 400, "singing is not available"),
])
def test_tts_bad_requests(tenant, ready_voice, data, status, message):
    data = {key: str(ready_voice.pk) if value == "VOICE" else value for key, value in data.items()}
    response = tenant.producer.client.post("/tts", data, format="json")
    assert response.status_code == status and message in str(response.json())


def test_tts_needs_a_token_and_the_producer_role(tenant, ready_voice):
    data = {"text": "Hi.", "voice_id": str(ready_voice.pk)}
    assert APIClient().post("/tts", data, format="json").status_code in (401, 403)
    assert tenant.moderator.client.post("/tts", data, format="json").status_code == 403


def test_tts_cannot_use_another_organisations_voice(tenant, other_tenant, ready_voice):
    response = other_tenant.producer.client.post("/tts", {"text": "Hi.", "voice_id": str(ready_voice.pk)},
                                                 format="json")
    assert response.status_code == 404


def test_tts_refuses_a_silent_reference_with_a_message(tenant):
    import numpy as np

    silence = b64_wav(np.zeros(10 * 22050, dtype=np.float32), 22050)
    response = tenant.producer.client.post("/tts", {"text": "Hello.", "language": "en", "reference_audio": silence},
                                           format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert "too little speech" in response.json()["error"] and response.json()["code"] == "invalid"
    assert Generation.objects.count() == 0
