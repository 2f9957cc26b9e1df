"""Statements, grants (same speaker verified, impostor rejected), approval, revocation, erasure."""
from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from consent import signals
from consent.models import ConsentRecord, ConsentStatus, StatementChallenge
from consent.gate import ConsentRefused, assert_can_synthesize
from tests.audio_checks.voices import piper_speech, with_silence
from tests.consent.conftest import OWNER, PHRASE, stored_files, wav_bytes
from voicegate.audit.models import AuditEntry


def statement_for(client, voice, **params):
    response = client.get(f"/api/v1/voices/{voice.pk}/statement/", {"languages": "zh,en", **params})
    assert response.status_code == 201, response.content
    return response.json()


def grant(client, voice, challenge_id, data: bytes):
    return client.post("/api/v1/consents/", {"voice": str(voice.pk), "challenge": challenge_id,
                                             "statement": SimpleUploadedFile("statement.wav", data)},
                       format="multipart")


def test_statement_names_owner_organisation_date_and_a_fresh_code(tenant, voice):
    first = statement_for(tenant.producer.client, voice)
    second = statement_for(tenant.producer.client, voice)
    assert OWNER in first["text"] and "Acme Media" in first["text"] and "narration" in first["text"]
    assert first["challenge_id"] != second["challenge_id"]
    assert first["phrase"] != second["phrase"] and len(first["phrase"]) == 6
    assert first["languages"] == ["zh", "en"] and first["expires_at"]


def test_owner_reading_the_statement_is_verified_and_the_gate_opens(tenant, voice, fixed_phrase,
                                                                     owner_statement_wav):
    challenge = statement_for(tenant.producer.client, voice)
    response = grant(tenant.producer.client, voice, challenge["challenge_id"], owner_statement_wav)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "verified", body["reason"]
    assert body["speaker_similarity"] >= 0.72
    assert body["verification"]["code_digits_heard"] >= 5 and body["has_statement_audio"]
    record = ConsentRecord.objects.get(pk=body["id"])
    assert assert_can_synthesize(voice, tenant.producer.user, "zh") == record
    assert AuditEntry.objects.filter(action="consent.granted", target_id=str(record.pk)).exists()
    # The statement is single use.
    again = grant(tenant.producer.client, voice, challenge["challenge_id"], owner_statement_wav)
    assert again.status_code == 409 and "already used" in again.json()["error"]


def test_a_different_speaker_is_rejected_with_the_figure_and_no_audio_kept(tenant, voice, fixed_phrase,
                                                                             impostor_statement_wav):
    before = stored_files()
    challenge = statement_for(tenant.producer.client, voice)
    body = grant(tenant.producer.client, voice, challenge["challenge_id"], impostor_statement_wav).json()
    assert body["status"] == "rejected" and body["speaker_similarity"] < 0.72
    assert "not spoken by the voice in the references" in body["reason"]
    assert not body["has_statement_audio"] and stored_files() == before
    assert body["statement_sha256"] == hashlib.sha256(impostor_statement_wav).hexdigest()
    assert AuditEntry.objects.filter(action="consent.rejected").exists()
    with pytest.raises(ConsentRefused, match="was rejected"):
        assert_can_synthesize(voice, tenant.producer.user, "en")


def test_a_replayed_reference_clip_is_rejected_as_a_copy(tenant, voice, reference_wavs):
    challenge = statement_for(tenant.producer.client, voice)
    body = grant(tenant.producer.client, voice, challenge["challenge_id"], reference_wavs[0]).json()
    assert body["status"] == "rejected" and "re-uses audio from reference clip 1" in body["reason"]


def test_an_old_statement_with_another_code_is_rejected(tenant, voice, fixed_phrase):
    from tests.consent.conftest import statement_text

    stale_text = statement_text("Acme Media").replace("four, zero, seven, one, nine, three",
                                                      "eight, two, five, five, six, zero")
    samples, rate = piper_speech(stale_text)
    challenge = statement_for(tenant.producer.client, voice)
    body = grant(tenant.producer.client, voice, challenge["challenge_id"], wav_bytes(with_silence(samples, rate),
                                                                                     rate)).json()
    assert body["status"] == "rejected" and "confirmation code was not heard" in body["reason"]


def test_content_unverified_waits_for_an_admin(tenant, voice, fixed_phrase, owner_statement_wav, monkeypatch):
    from consent import verification

    monkeypatch.setattr(verification, "recogniser_available", lambda language: False)  # e.g. a language without one
    challenge = statement_for(tenant.producer.client, voice)
    body = grant(tenant.producer.client, voice, challenge["challenge_id"], owner_statement_wav).json()
    assert body["status"] == "content_unverified" and "admin must listen" in body["reason"]
    with pytest.raises(ConsentRefused, match="an admin must approve"):
        assert_can_synthesize(voice, tenant.producer.user, "en")
    assert tenant.producer.client.post(f"/api/v1/consents/{body['id']}/approve/").status_code == 403
    approved = tenant.admin.client.post(f"/api/v1/consents/{body['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "verified"
    assert assert_can_synthesize(voice, tenant.producer.user, "en").pk == ConsentRecord.objects.get().pk
    assert AuditEntry.objects.get(action="consent.approved").actor_name == tenant.admin.username


@pytest.fixture
def verified(tenant, voice):
    challenge = StatementChallenge.objects.create(voice=voice, owner=voice.owner, text="...", phrase=PHRASE,
                                                  languages=["en"], uses=["narration"],
                                                  expires_at="2999-01-01T00:00:00Z")
    return ConsentRecord.objects.create(organisation=voice.organisation, voice=voice, owner=voice.owner,
                                        challenge=challenge, status=ConsentStatus.VERIFIED, statement_text="...",
                                        languages=["en"], uses=["narration"])


def test_revocation_takes_effect_at_once_and_signals_synthesis(tenant, voice, verified):
    received = []

    def listener(sender, voice, consent, **kwargs):
        received.append((voice.pk, consent.pk))

    signals.consent_revoked.connect(listener)
    try:
        response = tenant.producer.client.post(f"/api/v1/consents/{verified.pk}/revoke/", {"reason": "owner asked"},
                                               format="json")
    finally:
        signals.consent_revoked.disconnect(listener)
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert received == [(voice.pk, verified.pk)]
    with pytest.raises(ConsentRefused, match="revoked on"):
        assert_can_synthesize(voice, tenant.producer.user, "en")
    entry = AuditEntry.objects.get(action="consent.revoked")
    assert entry.details["reason"] == "owner asked" and entry.actor_name == tenant.producer.username
    assert tenant.producer.client.post(f"/api/v1/consents/{verified.pk}/revoke/", {"reason": "again"},
                                       format="json").status_code == 409


def test_erasure_deletes_audio_and_embeddings_and_keeps_hashes(tenant, voice, verified, reference_wavs):
    erased = []
    signals.voice_erased.connect(lambda sender, voice, **kw: erased.append(voice.pk), weak=False,
                                 dispatch_uid="test-erasure")
    try:
        assert len(stored_files()) == 2
        response = tenant.producer.client.delete(f"/api/v1/voices/{voice.pk}/")
    finally:
        signals.voice_erased.disconnect(dispatch_uid="test-erasure")
    assert response.status_code == 204
    assert stored_files() == set() and erased == [voice.pk]
    voice.refresh_from_db()
    assert voice.status == "erased" and voice.embedding == []
    assert all(clip.embedding == [] and not clip.audio for clip in voice.references.all())
    entry = AuditEntry.objects.get(action="voice.erased")
    assert {f["sha256"] for f in entry.details["deleted_files"]} == {hashlib.sha256(d).hexdigest()
                                                                      for d in reference_wavs}
    verified.refresh_from_db()
    assert verified.status == "revoked"  # erasure revokes first, so queued jobs are cancelled too
    assert tenant.producer.client.get(f"/api/v1/voices/{voice.pk}/").status_code == 404
    with pytest.raises(ConsentRefused, match="was erased"):
        assert_can_synthesize(voice, tenant.producer.user, "en")
