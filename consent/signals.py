"""Signals other apps listen to.

``consent_revoked`` (kwargs ``voice``, ``consent``): sent once per revoked consent, inside the
revoking transaction; synthesis cancels the voice's queued jobs and deletes its enrollment
artifacts. ``voice_erased`` (kwargs ``voice``): the voice's audio and embeddings are being
deleted; every derived artifact must go too. ``consent_verified`` (kwargs ``voice``, ``consent``,
``actor``): a consent just became verified (granted, or approved by an admin), sent after the
transaction commits; synthesis starts the voice's enrollment on its own queue.
"""
from django.dispatch import Signal

consent_revoked = Signal()
voice_erased = Signal()
consent_verified = Signal()
