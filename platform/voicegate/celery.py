"""The Celery application. Without CELERY_BROKER_URL tasks run in-process (see voicegate.jobs)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")

app = Celery("voicegate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
