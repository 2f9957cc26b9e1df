"""Each kind of job lands on its own Celery queue of the real Redis broker.

Enrollment, synthesis and everything else go to the `enrollment`, `synthesis` and `default`
queues, so each worker loads only its own models (README "Running the real thing"). The jobs
are requested through the real services; the test reads the Redis lists the messages land in.
Keys carry a per-test prefix (kombu's ``global_keyprefix``), so no worker elsewhere sees them.
"""
from __future__ import annotations

import base64
import json
import os
import uuid

import numpy as np
import pytest

from synthesis import services
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import wav_bytes

pytestmark = [pytest.mark.broker, pytest.mark.django_db]

QUEUES = ("enrollment", "synthesis", "default")


@pytest.fixture
def broker(settings):
    """The real Redis broker (CELERY_BROKER_URL, else the local 127.0.0.1:6379), keys under a fresh prefix."""
    redis = pytest.importorskip("redis")
    from voicegate.celery import app

    url = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis broker at {url}")
    prefix = f"voicegate-test-{uuid.uuid4().hex[:10]}:"
    saved = {name: app.conf[name] for name in ("broker_url", "broker_transport_options", "task_always_eager")}
    settings.CELERY_BROKER_URL = url  # voicegate.jobs.enqueue sends to the broker from now on
    app.conf.broker_url = url
    app.conf.broker_transport_options = {**saved["broker_transport_options"], "global_keyprefix": prefix}
    app.conf.task_always_eager = False
    _forget_connections(app)
    try:
        yield lambda queue: [json.loads(raw) for raw in client.lrange(prefix + queue, 0, -1)]
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


def _forget_connections(app) -> None:
    # The app keeps its broker connection pool once built; drop it so the next send connects
    # with the options set above (what Celery itself does in a forked child).
    app._pool = None
    app.amqp._producer_pool = None


def message_summary(message: dict) -> tuple[str, str, list]:
    args = json.loads(base64.b64decode(message["body"]))[0]
    return message["headers"]["task"], message["headers"]["id"], args


def queued(read) -> dict[str, list[tuple[str, str, list]]]:
    return {queue: [message_summary(m) for m in read(queue)] for queue in QUEUES}


def test_a_requested_synthesis_waits_on_the_synthesis_queue_only(
        tenant, ready_voice, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generation = services.request_synthesis(user=tenant.producer.user, voice=ready_voice,
                                                text="Good morning.", language="en")
    generation.refresh_from_db()
    assert generation.status == "queued"  # not run in-process: it waits for a synthesis worker
    assert queued(broker) == {"enrollment": [], "default": [],
                              "synthesis": [("synthesis.run_generation", generation.celery_task_id,
                                             [str(generation.pk)])]}


def test_a_requested_enrollment_waits_on_the_enrollment_queue_only(
        tenant, voice, consent, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        artifact = services.start_enrollment(voice, tenant.producer.user, budget_s=5)
    artifact.refresh_from_db()
    assert artifact.status == "queued"
    assert queued(broker) == {"synthesis": [], "default": [],
                              "enrollment": [("synthesis.enroll_voice", artifact.celery_task_id,
                                              [str(artifact.pk)])]}


def test_a_synthesis_for_an_unenrolled_voice_queues_its_enrollment_and_waits(
        tenant, voice, consent, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generation = services.request_synthesis(user=tenant.producer.user, voice=voice, text="Good morning.",
                                                language="en")
    generation.refresh_from_db()
    artifact = services.VoiceProfileArtifact.objects.get(voice=voice)
    assert generation.status == "queued" and generation.waiting_for_enrollment
    assert queued(broker) == {"synthesis": [], "default": [],  # the job waits; only the enrollment is queued
                              "enrollment": [("synthesis.enroll_voice", artifact.celery_task_id,
                                              [str(artifact.pk)])]}


def test_a_long_verification_waits_on_the_default_queue(
        tenant, broker, settings, django_capture_on_commit_callbacks):
    from safety.services import submit_verification

    settings.VERIFY_SYNC_SECONDS = 1  # longer clips become jobs
    rate = 16000
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(3 * rate) / rate)).astype(np.float32)
    with django_capture_on_commit_callbacks(execute=True):
        verification = submit_verification(tenant.moderator.user, wav_bytes(tone, rate), "clip.wav")
    assert verification.status == "queued"
    waiting = queued(broker)
    assert waiting["synthesis"] == [] and waiting["enrollment"] == []
    assert [(task, args) for task, _, args in waiting["default"]] == [("safety.run_verification",
                                                                      [str(verification.pk)])]
