"""The Celery application. Without CELERY_BROKER_URL tasks run in-process (see voicegate.jobs)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")

app = Celery("voicegate")
# The current app in every thread, so the foundation (voicegate.jobs, voicegate.health) reaches it
# through ``celery.current_app`` without importing the wiring.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
