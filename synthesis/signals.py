"""Signals synthesis sends, and its receivers for consent's signals.

``generation_completed`` (kwargs ``generation``, ``samples``, ``sample_rate``): sent once per
successful generation, inside the transaction that stores its output; safety registers the
output's fingerprint. Because it is inside that transaction, a crash before commit rolls the
fingerprint back with everything else, and the retry sends it again exactly once.

Receivers: when a voice's consent is revoked or the voice is erased, its queued and running
generations are cancelled and its cached enrollment (profile row and file) is deleted, inside
the revoking transaction. When a consent becomes verified, the voice's enrollment is started on
the enrollment queue (SYNTHESIS_ENROLL_ON_CONSENT), so a first synthesis rarely has to wait.
"""
from __future__ import annotations

from django.dispatch import Signal, receiver

from consent.signals import consent_revoked, consent_verified, voice_erased

generation_completed = Signal()


@receiver(consent_revoked, dispatch_uid="synthesis.on_consent_revoked")
def on_consent_revoked(sender, voice, consent=None, **kwargs) -> None:
    from synthesis.services import cancel_active_generations, delete_enrollment

    cancel_active_generations(voice, reason="the voice owner's consent was revoked", consent=consent)
    delete_enrollment(voice, reason="consent revoked")


@receiver(voice_erased, dispatch_uid="synthesis.on_voice_erased")
def on_voice_erased(sender, voice, **kwargs) -> None:
    from synthesis.services import cancel_active_generations, delete_enrollment

    cancel_active_generations(voice, reason="the voice was erased")
    delete_enrollment(voice, reason="voice erased")


@receiver(consent_verified, dispatch_uid="synthesis.on_consent_verified")
def on_consent_verified(sender, voice, consent=None, actor=None, **kwargs) -> None:
    import logging

    from django.conf import settings

    from synthesis.services import start_enrollment
    from voicegate.errors import DomainError

    if not getattr(settings, "SYNTHESIS_ENROLL_ON_CONSENT", True):
        return
    try:
        start_enrollment(voice, actor)
    except DomainError as exc:  # e.g. the voice was erased meanwhile: nothing to enroll
        logging.getLogger(__name__).info("enrollment of voice %s not started: %s", voice.pk, exc.message)
