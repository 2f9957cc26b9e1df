"""Safety's receivers: every successful generation's output goes into the fingerprint registry."""
from __future__ import annotations

from django.dispatch import receiver

from synthesis.signals import generation_completed


@receiver(generation_completed, dispatch_uid="safety.register_generation_fingerprint")
def register_generation_fingerprint(sender, generation, samples, sample_rate, **kwargs) -> None:
    from .services import register_fingerprint

    # Sent inside synthesis' storing transaction: a rollback there removes these rows too.
    register_fingerprint(generation.pk, samples, sample_rate, organisation=generation.organisation,
                         duration_s=generation.duration_s)
