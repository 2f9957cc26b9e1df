"""Enrollment through the API: every reference problem is refused with its message, nothing stored."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.models import ReferenceClip, Voice
from tests.audio_checks.voices import add_noise, piper_speech, white_noise, with_silence
from tests.consent.conftest import REFERENCE_SENTENCES, stored_files, wav_bytes
from voicegate.audio import resample
from voicegate.audit.models import AuditEntry


def upload(data: bytes, name: str = "ref.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="audio/wav")


def enroll(client, *files, name="Joe", **extra):
    return client.post("/api/v1/voices/", {"name": name, "references": list(files), **extra}, format="multipart")


def test_producer_enrolls_a_voice_with_a_quality_report(tenant, reference_wavs):
    response = enroll(tenant.producer.client, *(upload(d, f"r{i}.wav") for i, d in enumerate(reference_wavs)),
                      owner_name="Joe Example")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner_name"] == "Joe Example" and len(body["references"]) == 2
    clip = body["quality"]["clips"][0]
    assert clip["passed"] and clip["sample_rate"] == 22050 and clip["snr_db"] > 20
    voice = Voice.objects.get(pk=body["id"])
    assert len(voice.embedding) == 256
    assert {ref["sha256"] for ref in body["references"]} == {hashlib.sha256(d).hexdigest() for d in reference_wavs}
    assert len(stored_files()) == 2
    assert AuditEntry.objects.filter(action="voice.enrolled", target_id=str(voice.pk)).exists()


def _speech(rate=None):
    samples, native = piper_speech(REFERENCE_SENTENCES[0])
    samples = with_silence(samples, native)
    return (samples, native) if rate is None else (resample(samples, native, rate), rate)


def _eight_khz():
    return wav_bytes(*_speech(8000))


def _too_short():
    samples, rate = _speech()
    return wav_bytes(samples[: int(1.5 * rate)], rate)


def _noisy():
    samples, rate = _speech()
    return wav_bytes(add_noise(samples, white_noise(samples.size, seed=3), snr_db=5), rate)


def _silence():
    return wav_bytes(np.zeros(5 * 22050, dtype=np.float32), 22050)


def _corrupt():
    # A WAV header whose format chunk is garbage (a damaged upload).
    return b"RIFF\x24\x10\x00\x00WAVEfmt " + np.random.default_rng(1).bytes(4000)


REJECTIONS = [
    ("8 kHz", _eight_khz, 422, "reference audio is 8000 Hz; at least 16000 Hz is needed"),
    ("too short", _too_short, 422, "it must be between 3 and 30 s"),
    ("noise", _noisy, 422, "background noise detected"),
    ("silence", _silence, 422, "too little speech"),
    ("corrupt", _corrupt, (400, 415), "could not be decoded|not audio we can read"),
    ("not audio", lambda: b"%PDF-1.4\n% a document, not a recording\n" * 40, 415, "not audio we can read"),
]


@pytest.mark.parametrize("label,make,status,message", REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_bad_reference_is_refused_with_its_message_and_nothing_is_stored(tenant, label, make, status, message):
    import re

    before = stored_files()
    response = enroll(tenant.producer.client, upload(make()))
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content
    assert re.search(message, response.json()["error"]), response.json()["error"]
    assert Voice.objects.count() == 0 and ReferenceClip.objects.count() == 0
    assert stored_files() == before


def test_oversized_reference_is_refused_before_decoding(tenant, settings, reference_wavs):
    settings.CONSENT_MAX_UPLOAD_BYTES = 50_000
    response = enroll(tenant.producer.client, upload(reference_wavs[0]))
    assert response.status_code == 413
    size_kb = round(len(reference_wavs[0]) / 1000)
    assert response.json()["error"] == f"ref.wav is {size_kb} kB; at most 50 kB is accepted"
    assert Voice.objects.count() == 0 and stored_files() == set()


def test_one_bad_clip_among_several_names_it_and_stores_none(tenant, reference_wavs):
    response = enroll(tenant.producer.client, upload(reference_wavs[0], "good.wav"), upload(_eight_khz(), "phone.wav"))
    assert response.status_code == 422
    assert response.json()["error"].startswith("reference 2 (phone.wav):")
    assert Voice.objects.count() == 0 and stored_files() == set()


def test_protected_voice_is_refused_and_the_attempt_audited(tenant, reference_wavs):
    other_clip = wav_bytes(*piper_speech("Seven bright lanterns were hanging along the narrow street when the "
                                         "parade began."))
    response = tenant.admin.client.post("/api/v1/protected-voices/", {
        "name": "Famous Anchor", "reason": "public figure", "references": [upload(other_clip)]}, format="multipart")
    assert response.status_code == 201, response.content
    refused = enroll(tenant.producer.client, upload(reference_wavs[0]))
    assert refused.status_code == 403
    assert 'protected voice "Famous Anchor"' in refused.json()["error"]
    assert Voice.objects.count() == 0 and stored_files() == set()
    entry = AuditEntry.objects.get(action="voice.enrollment_refused")
    assert entry.actor_name == tenant.producer.username and entry.details["similarity"] >= 0.72
    assert entry.details["reference_sha256"] == [hashlib.sha256(reference_wavs[0]).hexdigest()]


def test_another_organisations_protected_voice_does_not_apply(tenant, other_tenant, reference_wavs):
    response = other_tenant.admin.client.post("/api/v1/protected-voices/", {
        "name": "Their Anchor", "reason": "asked not to be cloned", "references": [upload(reference_wavs[1])]},
        format="multipart")
    assert response.status_code == 201
    assert enroll(tenant.producer.client, upload(reference_wavs[0])).status_code == 201


def _noise_behind_a_wav_header() -> bytes:
    header = wav_bytes(np.zeros(10 * 22050, dtype=np.float32), 22050)[:44]
    return header + np.random.default_rng(7).bytes(10 * 22050 * 2)  # 10 s of random 16-bit samples


@pytest.mark.parametrize("make,message", [(_noise_behind_a_wav_header, "rejected"), (_silence, "too little speech")])
def test_protected_voice_recordings_pass_the_reference_checks(tenant, tmp_path, make, message):
    from django.core.management import call_command

    from consent.models import ProtectedVoice

    response = tenant.admin.client.post("/api/v1/protected-voices/", {
        "name": "Noise", "reason": "test", "references": [upload(make())]}, format="multipart")
    assert response.status_code == 422, response.content
    assert message in response.json()["error"]
    path = tmp_path / "noise.wav"
    path.write_bytes(make())
    with pytest.raises(SystemExit):
        call_command("protected_voice_add", "--name", "Noise", "--reason", "test", "--reference", str(path), "--json")
    assert ProtectedVoice.objects.count() == 0
