"""The Django admin for generations (read-only, AI label, player) and enrollments; enrollment deletion."""
from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from synthesis import services
from synthesis.models import Generation, GenerationStatus, VoiceProfileArtifact
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from voicegate.audio import encode_audio
from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-password-1")
    client = Client()
    client.force_login(user)
    return client


def stored_generation(tenant, voice) -> Generation:
    generation = services.request_synthesis(user=tenant.producer.user, voice=voice, text="Stored.", language="en")
    data = encode_audio(np.zeros(2400, np.float32), 24000, "wav")
    name = default_storage.save(services.output_name(generation), ContentFile(data))
    Generation.objects.filter(pk=generation.pk).update(status=GenerationStatus.SUCCEEDED, audio=name, duration_s=0.1)
    return Generation.objects.get(pk=generation.pk)


def test_generation_admin_is_read_only_labelled_and_plays_the_output(staff_client, tenant, ready_voice):
    generation = stored_generation(tenant, ready_voice)
    listing = staff_client.get("/admin/synthesis/generation/")
    assert listing.status_code == 200 and "AI-generated" in listing.content.decode()
    page = staff_client.get(f"/admin/synthesis/generation/{generation.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "AI-generated" in html and "<audio" in html
    assert generation.watermark_payload.hex() in html and "synthesis.requested" in html  # the audit trail
    assert 'name="_save"' not in html  # nothing to save: read-only
    audio = staff_client.get(f"/admin/synthesis/generation/{generation.pk}/audio/")
    assert audio.status_code == 200 and audio["X-AI-Generated"] == "true"
    assert b"".join(audio.streaming_content).startswith(b"RIFF")
    assert staff_client.post(f"/admin/synthesis/generation/{generation.pk}/delete/").status_code == 403


def test_deleting_an_enrollment_removes_its_profile_and_is_audited(tenant, ready_voice,
                                                                   django_capture_on_commit_callbacks):
    artifact = VoiceProfileArtifact.objects.get(voice=ready_voice)
    url = f"/api/v1/voices/{ready_voice.pk}/enrollment/"
    assert tenant.moderator.client.delete(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert tenant.producer.client.delete(url).status_code == 204
    assert not VoiceProfileArtifact.objects.filter(pk=artifact.pk).exists()
    assert not default_storage.exists(artifact.profile_file.name)
    assert AuditEntry.objects.filter(action="synthesis.enrollment_deleted", target_id=str(ready_voice.pk)).exists()
    assert tenant.producer.client.delete(url).status_code == 404
