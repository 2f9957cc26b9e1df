"""Audio the consent tests make themselves (Piper's joe voice as the owner, espeak-ng as an
impostor), synthesized and encoded once per session; the database is per test."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from tests.storage import stored_files as files_under

from consent import services, statements
from consent.models import Voice
from consent.services import AudioUpload
from tests.audio_checks.voices import espeak_speech, piper_speech, with_silence

OWNER = "Joe Example"
PHRASE = "407193"
REFERENCE_SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the quiet river bank this morning.",
    "Please remember to bring the blue folder and two pencils to the meeting on Thursday.",
)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def reference_wavs() -> list[bytes]:
    return [wav_bytes(with_silence(*piper_speech(text)), piper_speech(text)[1]) for text in REFERENCE_SENTENCES]


@pytest.fixture
def fixed_phrase(monkeypatch):
    """Statements carry a known phrase so the session's recordings can read the issued text."""
    monkeypatch.setattr(statements, "random_phrase", lambda language="en", digits=6: PHRASE)
    return PHRASE


def statement_text(organisation_name: str, languages=("zh", "en"), uses=("narration",)) -> str:
    from django.utils import timezone

    return statements.compose_statement(owner_name=OWNER, organisation_name=organisation_name,
                                        on=timezone.localdate(), languages=list(languages), uses=list(uses),
                                        phrase=PHRASE).text


@pytest.fixture(scope="session")
def owner_statement_wav() -> bytes:
    """Joe reading the statement the tenant fixture's organisation ("Acme Media") is issued."""
    samples, rate = piper_speech(statement_text("Acme Media"))
    return wav_bytes(with_silence(samples, rate), rate)


@pytest.fixture(scope="session")
def impostor_statement_wav() -> bytes:
    samples, rate = espeak_speech(statement_text("Acme Media"))
    return wav_bytes(with_silence(samples, rate), rate)


@pytest.fixture
def voice(tenant, reference_wavs) -> Voice:
    owner = services.create_owner(tenant.organisation, name=OWNER, actor=tenant.admin.user)
    return services.enroll_voice(tenant.organisation, name="Joe", owner=owner, actor=tenant.producer.user,
                                 references=[AudioUpload(data, f"ref{i}.wav") for i, data in enumerate(reference_wavs)])


def stored_files() -> set[str]:
    """Every file under the consent prefix in default_storage (local folder or S3)."""
    return files_under("consent")
