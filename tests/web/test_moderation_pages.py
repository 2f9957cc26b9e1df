"""Moderation desk: verification upload, evidence report, queue and decisions, tenancy."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from safety.models import ModerationItem, Verification
from tests.web.audio import reference_wav
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def clip(data: bytes, name: str = "clip.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="audio/wav")


def test_producer_cannot_open_the_moderation_desk(tenant):
    response = signed_in(tenant.producer.user).get(reverse("web:moderation"))
    assert response.status_code == 403
    assert "needs the moderator or admin role; your role is producer" in response.content.decode()


def test_not_audio_upload_is_explained_and_leaves_nothing(tenant):
    response = signed_in(tenant.moderator.user).post(reverse("web:moderation"), {"clip": clip(b"hello", "notes.txt")},
                                                     HTTP_HX_REQUEST="true")
    assert 'role="alert"' in response.content.decode()
    assert not Verification.objects.exists()


def test_verify_read_report_and_decide(tenant, other_tenant):
    client = signed_in(tenant.moderator.user)
    response = client.post(reverse("web:moderation"), {"clip": clip(reference_wav(), "interview.wav")})
    verification = Verification.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:verification", args=[verification.pk])
    report = client.get(response["Location"]).content.decode()
    # the "interview" is Piper speech without a mark: the synthetic-speech detector hears it
    assert "Likely AI-generated" in report and "likely_ai_generated" in report and "Does it sound synthesised?" in report
    assert "No generation record of this platform matches." in report
    desk = client.get(reverse("web:moderation")).content.decode()
    assert "interview.wav" in desk

    decide = reverse("web:verification-decide", args=[verification.pk])
    response = client.post(decide, {"decision": "take_down", "notes": ""})
    assert response.status_code == 400 and "A take-down or escalation needs notes saying why." in response.content.decode()
    client.post(decide, {"decision": "take_down", "notes": "impersonation complaint upheld"})
    item = ModerationItem.objects.get()
    assert item.status == "closed" and item.decision == "take_down" and item.decided_by == tenant.moderator.user
    assert "interview.wav" not in client.get(reverse("web:moderation")).content.decode()  # closed: off the open queue
    assert "interview.wav" in client.get(reverse("web:moderation"), {"status": "all"}).content.decode()

    rival = signed_in(other_tenant.moderator.user)
    assert rival.get(reverse("web:verification", args=[verification.pk])).status_code == 404
    assert rival.post(decide, {"decision": "approve"}).status_code == 404
    assert "interview.wav" not in rival.get(reverse("web:moderation"), {"status": "all"}).content.decode()


def test_a_stock_voice_clip_shows_the_voice_instead_of_a_consent_record(tenant):
    from synthesis import services

    generation = services.synthesize_now(user=tenant.producer.user, stock_voice="jf_alpha", language="en",
                                         text="Good morning. This clip is short.")
    client = signed_in(tenant.moderator.user)
    response = client.post(reverse("web:moderation"), {"clip": clip(services.read_output(generation), "stock.wav")})
    report = client.get(response["Location"]).content.decode()
    assert "generated_here" in report and str(generation.pk) in report
    assert "stock voice jf_alpha" in report and "no consent record: a stock voice clones no one" in report
    assert "Consent record" not in report.split("Generation record", 1)[1].split("</dl>", 1)[0]
