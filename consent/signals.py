"""Signals other apps listen to.

``consent_revoked`` (kwargs ``voice``, ``consent``): sent once per revoked consent, inside the
revoking transaction; synthesis cancels the voice's queued jobs and deletes its enrollment
artifacts. ``voice_erased`` (kwargs ``voice``): the voice's audio and embeddings are being
deleted; every derived artifact must go too.
"""
from django.dispatch import Signal

consent_revoked = Signal()
voice_erased = Signal()
