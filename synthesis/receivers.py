"""Synthesis' receivers for consent's signals (connected in ``SynthesisConfig.ready``).

When a voice's consent is revoked or the voice is erased, its queued and running generations
are cancelled and its cached enrollment (profile row and file) is deleted, inside the revoking
transaction. When a consent becomes verified, the voice's enrollment is started on the
enrollment queue (SYNTHESIS_ENROLL_ON_CONSENT), so a first synthesis rarely has to wait.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.dispatch import receiver

from consent.signals import consent_revoked, consent_verified, voice_erased
from voicegate.errors import DomainError

from synthesis.services import cancel_active_generations, delete_enrollment, start_enrollment

logger = logging.getLogger(__name__)


@receiver(consent_revoked, dispatch_uid="synthesis.on_consent_revoked")
def on_consent_revoked(sender, voice, consent=None, **kwargs) -> None:
    cancel_active_generations(voice, reason="the voice owner's consent was revoked", consent=consent)
    delete_enrollment(voice, reason="consent revoked")


@receiver(voice_erased, dispatch_uid="synthesis.on_voice_erased")
def on_voice_erased(sender, voice, **kwargs) -> None:
    cancel_active_generations(voice, reason="the voice was erased")
    delete_enrollment(voice, reason="voice erased")


@receiver(consent_verified, dispatch_uid="synthesis.on_consent_verified")
def on_consent_verified(sender, voice, consent=None, actor=None, **kwargs) -> None:
    if not getattr(settings, "SYNTHESIS_ENROLL_ON_CONSENT", True):
        return
    try:
        start_enrollment(voice, actor)
    except DomainError as exc:  # e.g. the voice was erased meanwhile: nothing to enroll
        logger.info("enrollment of voice %s not started: %s", voice.pk, exc.message)
