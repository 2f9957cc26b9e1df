"""voicegate: the service wiring of the consent-gated voice platform.

Importing the package makes the Celery app available as ``voicegate.celery_app`` so
that ``celery -A voicegate worker`` and ``@shared_task`` both find it.
"""
from .celery import app as celery_app

__all__ = ["celery_app"]
