"""Signals synthesis sends.

``generation_completed`` (kwargs ``generation``, ``samples``, ``sample_rate``): sent once per
successful generation, inside the transaction that stores its output; safety registers the
output's fingerprint. Because it is inside that transaction, a crash before commit rolls the
fingerprint back with everything else, and the retry sends it again exactly once.

Synthesis' receivers for consent's signals are in ``synthesis.receivers``.
"""
from django.dispatch import Signal

generation_completed = Signal()
