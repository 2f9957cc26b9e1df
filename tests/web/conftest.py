from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def browser_client():
    """A Django test client speaking English (the UI's strings are asserted in English)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The tenant fixture sets three passwords; PBKDF2 would spend a second on each test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def consented_voice(tenant, *, name: str = "Narrator", owner: str = "Li Wei", languages=("en",)):
    """A voice enrolled from real (Piper) reference audio whose owner's statement was verified."""
    from consent import services
    from consent.models import ConsentStatus
    from tests.speech import SENTENCES
    from tests.web.audio import reference_wav, spoken_wav

    actor = tenant.admin.user
    voice = services.enroll_voice(tenant.organisation, name=name, actor=actor,
                                  references=[services.AudioUpload(reference_wav(), "reference.wav")],
                                  owner=services.owner_named(tenant.organisation, owner, actor=actor))
    challenge = services.issue_statement(voice, languages=list(languages), uses=["narration"], actor=actor)
    # content_checkable=False is the operator-command path: the words are not checked (an admin
    # approves them), so a cached sentence by the same speaker stands in for the statement and
    # no speech recogniser runs; the speaker and copy checks still do. tests/browser takes the
    # full path (statement text synthesized and checked).
    statement = spoken_wav(SENTENCES[5])
    record = services.grant_consent(voice, statement=services.AudioUpload(statement, "statement.wav"),
                                    challenge=challenge, actor=actor, content_checkable=False)
    if record.status == ConsentStatus.CONTENT_UNVERIFIED:
        record = services.approve_consent(record, actor=actor)
    assert record.status == ConsentStatus.VERIFIED, record.reason
    return voice


def unconsented_voice(tenant, *, name: str = "Unconsented"):
    from consent import services
    from tests.web.audio import reference_wav

    return services.enroll_voice(tenant.organisation, name=name, actor=tenant.admin.user,
                                 references=[services.AudioUpload(reference_wav(), "reference.wav")])
