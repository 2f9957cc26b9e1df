"""Fixtures and helpers shared by the job/API/pipeline/command tests (no tests here).

The voice is a real consent.Voice enrolled by consent.services from Piper speech; its consent
record is created verified directly (statement verification is consent's to test). The
cached engine profile is a stock Kokoro pack saved the way enrollment saves one, so these
tests need no minutes-long enrollment; one enrollment test runs the real search on a tiny budget.
"""
from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.storage import stored_files
from django.utils import timezone

from consent.models import ConsentRecord, ConsentStatus, ReferenceClip, Voice, VoiceOwner
from synthesis.engines import get_engine
from synthesis.models import EnrollmentStatus, Generation, VoiceProfileArtifact
from synthesis.services import profile_name
from tests.audio_checks.voices import espeak_speech, piper_speech, with_silence

REFERENCE_SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the quiet river bank this morning.",
    "Please remember to bring the blue folder and two pencils to the meeting on Thursday.",
)
HELD_OUT_SENTENCE = "Seven bright lanterns were hanging along the narrow street when the parade began."
SHORT_TEXT = "Good morning. This clip is short."


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def b64_wav(samples: np.ndarray, rate: int) -> str:
    return base64.b64encode(wav_bytes(samples, rate)).decode()


@pytest.fixture
def signing(settings, tmp_path) -> dict[str, str]:
    """A development certificate chain (watermark's dev CA), as an operator would configure it."""
    from watermark.manifest import generate_dev_ca

    paths = generate_dev_ca(tmp_path / "ca")
    settings.PROVENANCE_CERT_CHAIN, settings.PROVENANCE_PRIVATE_KEY = paths["cert_chain"], paths["private_key"]
    return paths


@pytest.fixture(scope="session")
def reference_wavs() -> list[bytes]:
    clips = [piper_speech(text) for text in REFERENCE_SENTENCES]
    return [wav_bytes(with_silence(samples, rate), rate) for samples, rate in clips]


@pytest.fixture(scope="session")
def reference_embedding(reference_wavs) -> list[float]:
    from consent.speaker import embed_speaker, mean_embedding

    embeddings = [embed_speaker(*decode(data)) for data in reference_wavs]
    return [round(float(x), 6) for x in mean_embedding(embeddings)]


def make_voice(tenant, reference_wavs, embedding: list[float], name: str = "Joe") -> Voice:
    """A voice as consent.services.enroll_voice leaves it (rows + stored clips), without re-running its
    checks in every test (consent's tests cover those)."""
    owner = VoiceOwner.objects.create(organisation=tenant.organisation, name=f"{name} Owner")
    voice = Voice.objects.create(organisation=tenant.organisation, name=name, owner=owner, embedding=embedding,
                                 created_by=tenant.producer.user)
    for index, data in enumerate(reference_wavs):
        clip = ReferenceClip(voice=voice, original_name=f"ref{index}.wav", sha256=hashlib.sha256(data).hexdigest(),
                             format="wav", sample_rate=22050, duration_s=len(data) / 44100, embedding=embedding)
        clip.audio.save(f"ref{index}.wav", ContentFile(data), save=False)
        clip.save()
    return voice


def grant(voice: Voice, *, languages=("en", "zh", "ja"), uses=("narration",), **fields) -> ConsentRecord:
    return ConsentRecord.objects.create(
        organisation=voice.organisation, voice=voice, owner=voice.owner, status=ConsentStatus.VERIFIED,
        statement_text="I agree that my voice may be used.", languages=list(languages), uses=list(uses),
        valid_from=timezone.now() - timezone.timedelta(minutes=1), speaker_similarity=0.9, **fields)


def cache_stock_profile(voice: Voice, stock: str = "jm_kumo") -> VoiceProfileArtifact:
    """A ready enrollment artifact holding a stock pack, stored as enrollment stores profiles."""
    from synthesis.engines.kokoro import stock_profile

    name = default_storage.save(profile_name(voice.pk), ContentFile(stock_profile(stock).to_bytes()))
    return VoiceProfileArtifact.objects.create(voice=voice, engine="kokoro", status=EnrollmentStatus.READY,
                                               progress=1.0, profile_file=name, similarity=0.5,
                                               baseline_similarity=0.5)


@pytest.fixture
def voice(tenant, reference_wavs, reference_embedding) -> Voice:
    return make_voice(tenant, reference_wavs, reference_embedding)


@pytest.fixture
def consent(voice) -> ConsentRecord:
    return grant(voice)


@pytest.fixture
def ready_voice(voice, consent) -> Voice:
    cache_stock_profile(voice)
    return voice


@dataclass
class EngineLog:
    """What the real Kokoro engine was asked to do, in order (its output is untouched)."""

    events: list[str] = field(default_factory=list)

    @property
    def inferences(self) -> int:
        return sum(1 for event in self.events if event == "infer")


@pytest.fixture
def engine_log(monkeypatch) -> EngineLog:
    log = EngineLog()
    engine = get_engine("kokoro")
    real_infer = engine.infer

    def recording_infer(*args, **kwargs):
        log.events.append("infer")
        return real_infer(*args, **kwargs)

    monkeypatch.setattr(engine, "infer", recording_infer)
    return log


def stored_outputs(tenant) -> list[str]:
    """Every output file of the tenant's organisation in default_storage (local folder or S3)."""
    return sorted(stored_files(f"generations/{tenant.organisation.pk}"))


def decode(data: bytes) -> tuple[np.ndarray, int]:
    from voicegate.audio import decode_audio

    decoded = decode_audio(data)
    return decoded.samples, decoded.sample_rate


def assert_marked_for(samples: np.ndarray, rate: int, generation: Generation) -> None:
    from watermark.services import detect_in

    detection = detect_in(samples, rate)
    assert detection.detected, "the output carries no watermark"
    assert detection.payload == generation.watermark_payload


__all__ = ["REFERENCE_SENTENCES", "HELD_OUT_SENTENCE", "SHORT_TEXT", "wav_bytes", "b64_wav", "make_voice", "grant",
           "cache_stock_profile", "voice", "consent", "ready_voice", "engine_log", "EngineLog", "stored_outputs",
           "decode", "assert_marked_for", "reference_wavs", "signing", "reference_embedding", "espeak_speech",
           "piper_speech", "with_silence"]
