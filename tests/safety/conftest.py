"""Shared pieces for safety's tests: made-here clips, uploads, attacks."""
from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from scipy import signal
from scipy.ndimage import uniform_filter1d

from tests.speech import SENTENCES, speech
from voicegate.audio import encode_audio

RATE = 16000
_keys = itertools.count(0x5AFE0001)


def upload(client, data: bytes, name: str = "clip.wav", field: str = "file"):
    return client.post("/api/v1/verifications/", {field: SimpleUploadedFile(name, data)}, format="multipart")


def wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    return encode_audio(samples, rate, "wav")


def whiten(samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Strong filtering: divide every STFT frame by its smoothed spectral envelope.

    It flattens the sub-band energy ratios the watermark lives in, while the local spectral
    peaks the fingerprint uses survive.
    """
    _, _, spectrum = signal.stft(samples, rate, nperseg=512)
    envelope = uniform_filter1d(np.abs(spectrum), size=9, axis=0) + 1e-6
    _, flattened = signal.istft(spectrum / np.sqrt(envelope), rate, nperseg=512)
    flattened = flattened[: samples.size]
    return (flattened / np.max(np.abs(flattened)) * 0.5).astype(np.float32)


def music_like(seconds: float = 8.0, rate: int = RATE) -> np.ndarray:
    """Chords of harmonic tones with a beat: music-like, no speech."""
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (246.9, 311.1, 370.0)]
    for i, chord in enumerate(chords * int(np.ceil(seconds / 2 / len(chords)) + 1)):
        start, end = i * 2.0, (i + 1) * 2.0
        window = (t >= start) & (t < end)
        for f0 in chord:
            for harmonic in range(1, 5):
                out[window] += np.sin(2 * np.pi * f0 * harmonic * t[window]) / harmonic
    beat = np.random.default_rng(1).normal(0, 1, t.size) * (np.mod(t, 0.5) < 0.05)
    out = out / np.max(np.abs(out)) * 0.4 + beat * 0.05
    return out.astype(np.float32)


def make_generation(organisation, user, *, voice_name: str = "Narrator Ann", text: str = "hello"):
    """A Generation row with its voice and consent (as synthesis stores them)."""
    from consent.models import ConsentRecord, ConsentStatus, Voice, VoiceOwner
    from synthesis.models import Generation, GenerationStatus

    owner = VoiceOwner.objects.create(organisation=organisation, name=f"Owner of {voice_name} {next(_keys)}")
    voice = Voice.objects.create(organisation=organisation, name=voice_name, owner=owner)
    consent = ConsentRecord.objects.create(organisation=organisation, voice=voice, owner=owner,
                                           status=ConsentStatus.VERIFIED, statement_text="I consent.",
                                           languages=["en"], uses=["narration"])
    return Generation.objects.create(organisation=organisation, user=user, voice=voice, consent=consent,
                                     voice_ref=str(voice.pk), consent_ref=str(consent.pk),
                                     status=GenerationStatus.SUCCEEDED, text=text,
                                     text_hash=hashlib.sha256(text.encode()).hexdigest(), language="en",
                                     watermark_key=next(_keys), duration_s=0)


def produce(organisation, user, samples: np.ndarray, rate: int = RATE, **kwargs):
    """A made-here output: the real watermark and the real completion signal (which registers the fingerprint)."""
    from synthesis.models import Generation
    from synthesis.signals import generation_completed
    from watermark.services import mark_audio

    generation = make_generation(organisation, user, **kwargs)
    marked = mark_audio(samples, rate, generation.watermark_payload)
    generation.duration_s = marked.size / rate
    generation.save(update_fields=["duration_s"])
    generation_completed.send(sender=Generation, generation=generation, samples=marked, sample_rate=rate)
    return generation, marked


@pytest.fixture(scope="session")
def narration() -> np.ndarray:
    """About 12 s of natural speech (Piper) to stand in for a synthesized output."""
    return np.concatenate([speech(text, "piper", RATE) for text in SENTENCES[:2]])


@pytest.fixture(scope="session")
def other_speech() -> np.ndarray:
    """Unrelated human-like speech by the same Piper voice (different sentences)."""
    return np.concatenate([speech(text, "piper", RATE) for text in SENTENCES[6:8]])


@pytest.fixture(scope="session")
def robot_speech() -> np.ndarray:
    return np.concatenate([speech(text, "espeak", RATE) for text in SENTENCES[9:11]])


@pytest.fixture
def made_here(tenant, narration):
    generation, marked = produce(tenant.organisation, tenant.producer.user, narration)
    return generation, marked
