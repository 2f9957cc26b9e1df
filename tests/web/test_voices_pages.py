"""Voices & consent pages: enrolling from uploaded audio, quality reports, consent, revocation."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consent.models import ConsentStatus, Voice
from tests.web.audio import noisy_reference_wav, reference_wav, spoken_wav, wav
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "reference.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="audio/wav")


def add_voice(client, name="Narrator", owner="Li Wei"):
    return client.post(reverse("web:voices"), {"name": name, "owner": owner, "references": upload(reference_wav())})


def test_moderator_cannot_open_voices(tenant):
    response = signed_in(tenant.moderator.user).get(reverse("web:voices"))
    assert response.status_code == 403
    assert "needs the producer or admin role" in response.content.decode()


def test_adding_a_voice_from_an_upload_shows_it_unusable_until_consent(tenant):
    client = signed_in(tenant.producer.user)
    response = add_voice(client)
    voice = Voice.objects.get(organisation=tenant.organisation, name="Narrator")
    assert response.status_code == 302 and response["Location"] == reverse("web:voice", args=[voice.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Li Wei" in page and "has no consent record" in page
    listing = client.get(reverse("web:voices")).content.decode()
    assert "Narrator" in listing and "has no consent record" in listing


def test_quality_check_reports_background_noise_at_once(tenant):
    client = signed_in(tenant.producer.user)
    response = client.post(reverse("web:check-recording") + "?kind=reference", {"audio": upload(noisy_reference_wav())})
    text = response.content.decode()
    assert response.status_code == 200
    assert "Background noise detected" in text and "re-record in a quieter place" in text


def test_quality_check_passes_a_clean_reference(tenant):
    text = signed_in(tenant.producer.user).post(
        reverse("web:check-recording"), {"audio": upload(reference_wav())}).content.decode()
    assert "passed the quality checks" in text


def test_not_audio_gets_an_actionable_message_and_stores_nothing(tenant):
    client = signed_in(tenant.producer.user)
    response = client.post(reverse("web:voices"), {"name": "Bad", "references": upload(b"not audio at all", "x.wav")})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Voice.objects.filter(name="Bad").exists()


def test_short_clip_is_refused_with_its_length(tenant):
    import numpy as np

    short = wav(np.zeros(22050, np.float32))
    response = signed_in(tenant.producer.user).post(reverse("web:voices"), {"name": "Short",
                                                                            "references": upload(short)})
    assert response.status_code == 400
    assert "1.0 s long; it must be between" in response.content.decode()


def test_missing_name_and_file_are_explained(tenant):
    response = signed_in(tenant.producer.user).post(reverse("web:voices"), {"name": ""})
    text = response.content.decode()
    assert "Give the voice a name." in text and "Upload or record at least one reference recording." in text


def test_other_organisations_voice_is_not_found(tenant, other_tenant):
    add_voice(signed_in(other_tenant.producer.user), name="Theirs")
    theirs = Voice.objects.get(name="Theirs")
    client = signed_in(tenant.producer.user)
    assert client.get(reverse("web:voice", args=[theirs.pk])).status_code == 404
    assert "Theirs" not in client.get(reverse("web:voices")).content.decode()


def test_statement_consent_and_revocation(tenant):
    client = signed_in(tenant.admin.user)
    add_voice(client)
    voice = Voice.objects.get(name="Narrator")
    response = client.post(reverse("web:voice", args=[voice.pk]),
                           {"languages": ["en"], "uses": ["narration"], "statement_language": "en"})
    assert response.status_code == 302
    statement_page = client.get(response["Location"]).content.decode()
    challenge = voice.statement_challenges.get()
    assert challenge.text in statement_page
    response = client.post(response["Location"], {"statement": upload(spoken_wav(challenge.text), "statement.wav"),
                                                  "expires": ""})
    assert response.status_code == 302
    record = voice.consents.get()
    assert record.status in (ConsentStatus.VERIFIED, ConsentStatus.CONTENT_UNVERIFIED), record.reason
    if record.status == ConsentStatus.CONTENT_UNVERIFIED:
        client.post(reverse("web:consent-approve", args=[voice.pk, record.pk]))
        record.refresh_from_db()
        assert record.status == ConsentStatus.VERIFIED
    page = client.get(reverse("web:voice", args=[voice.pk])).content.decode()
    assert "speaker similarity" in page
    # A revocation needs a reason, and says so.
    response = client.post(reverse("web:consent-revoke", args=[voice.pk, record.pk]), {"reason": ""})
    assert response.status_code == 400 and "Say why the consent is revoked" in response.content.decode()
    client.post(reverse("web:consent-revoke", args=[voice.pk, record.pk]), {"reason": "owner asked"})
    record.refresh_from_db()
    assert record.status == ConsentStatus.REVOKED
    page = client.get(reverse("web:voice", args=[voice.pk])).content.decode()
    assert "was revoked on" in page


def test_producer_cannot_approve_a_consent(tenant):
    client = signed_in(tenant.producer.user)
    add_voice(client)
    voice = Voice.objects.get(name="Narrator")
    fake = "00000000-0000-0000-0000-000000000000"
    response = client.post(reverse("web:consent-approve", args=[voice.pk, fake]))
    assert response.status_code == 403 and "needs the admin role" in response.content.decode()


def test_voice_page_shows_enrollment_progress_then_each_judges_figures_beside_the_stock_voice(tenant, other_tenant):
    from synthesis.models import EnrollmentStatus, VoiceProfileArtifact

    client = signed_in(tenant.producer.user)
    add_voice(client)
    voice = Voice.objects.get(organisation=tenant.organisation, name="Narrator")
    page = client.get(reverse("web:voice", args=[voice.pk])).content.decode()
    assert "Not enrolled yet" in page

    artifact = VoiceProfileArtifact.objects.create(voice=voice, status=EnrollmentStatus.RUNNING, progress=0.42,
                                                   progress_message="searching the voice (similarity 0.741)")
    status_url = reverse("web:voice-enrollment", args=[voice.pk])
    page = client.get(reverse("web:voice", args=[voice.pk])).content.decode()
    assert f'hx-get="{status_url}"' in page and 'value="0.420"' in page and "42%" in page  # polls while it runs
    assert "searching the voice (similarity 0.741)" in page  # and says what the search is doing

    artifact.status, artifact.progress, artifact.elapsed_s = EnrollmentStatus.READY, 1.0, 61.0
    artifact.report = {"best_stock_voice": "af_heart", "judges": {
        "stock": {"resemblyzer": 0.71, "whisper": 0.55, "f0_gap_st": 2.4, "spectral_distance": 31.0},
        "enrolled": {"resemblyzer": 0.83, "whisper": 0.64, "f0_gap_st": 0.3, "spectral_distance": 18.5},
        "owner": {"resemblyzer": 0.86, "whisper": 0.70}}}
    artifact.save()
    fragment = client.get(status_url).content.decode()
    assert "hx-get" not in fragment  # done: no more polling
    assert "af_heart" in fragment and "enrolled in 61 s" in fragment
    for measure, cells in {"resemblyzer": ("0.71", "0.83", "0.86"), "whisper": ("0.55", "0.64", "0.70"),
                           "f0_gap_st": ("2.40", "0.30"), "spectral_distance": ("31.00", "18.50")}.items():
        row = fragment.split(f'data-measure="{measure}"')[1].split("</tr>")[0]
        positions = [row.index(cell) for cell in cells]
        assert positions == sorted(positions), (measure, row)  # stock, this voice, owner's second recording
    assert fragment.count("<meter") == 6  # the two similarities drawn as bars, three each

    assert signed_in(other_tenant.producer.user).get(status_url).status_code == 404
