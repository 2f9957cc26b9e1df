"""Signals synthesis sends, and its receivers for consent's signals.

``generation_completed`` (kwargs ``generation``, ``samples``, ``sample_rate``): sent once per
successful generation, inside the transaction that stores its output; safety registers the
output's fingerprint. Because it is inside that transaction, a crash before commit rolls the
fingerprint back with everything else, and the retry sends it again exactly once.

Receivers: when a voice's consent is revoked or the voice is erased, its queued and running
generations are cancelled and its cached enrollment (profile row and file) is deleted, inside
the revoking transaction.
"""
from __future__ import annotations

from django.dispatch import Signal, receiver

from consent.signals import consent_revoked, voice_erased

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
