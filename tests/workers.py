"""Real Celery worker processes for the killed-worker tests (PostgreSQL + Redis, as on CI).

    env = worker_env(settings, connection, media_folder, SYNTHESIS_LEASE_S="3")
    worker = start_worker(env, "synthesis", slow=True)   # tests.slow_worker: jobs pause, so it can be killed mid-job
    stop_worker(worker, signal.SIGKILL)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker_env(settings, connection, media: Path, **overrides: str) -> dict[str, str]:
    """Environment of a worker that sees the test's database and shares a local storage folder with the test.

    The workers cannot see a test's private S3 key prefix, so the test's storage is switched to ``media``
    (the object store itself is exercised by the rest of the suite).
    """
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(media)}}}
    settings.MEDIA_ROOT = str(media)
    return dict(os.environ, DJANGO_SETTINGS_MODULE="voicegate.settings", STORAGE_BACKEND="local",
                DATABASE_URL=f"{os.environ['DATABASE_URL'].rsplit('/', 1)[0]}/{connection.settings_dict['NAME']}",
                STORAGE_LOCAL_ROOT=str(media), PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'platform'}", **overrides)


def killable_workers(settings, connection, media: Path, queue: str) -> dict[str, str]:
    """Set the test up for real workers on ``queue`` (Redis broker, PostgreSQL), skipping it elsewhere.

    Messages an earlier run's killed worker left unacknowledged would be redelivered to this test's
    workers first, so the queue starts empty. Returns the workers' environment (short lease, a reaper
    every second).
    """
    import pytest

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis") or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL), as on CI")
    from voicegate.celery import app

    forget_messages(broker, queue)
    env = worker_env(settings, connection, media, SYNTHESIS_LEASE_S="3", SYNTHESIS_REAPER_INTERVAL_S="1")
    settings.CELERY_BROKER_URL = broker
    app.conf.broker_url, app.conf.task_always_eager = broker, False
    return env


def release_workers(queue: str, killed: subprocess.Popen, *others: subprocess.Popen | None) -> None:
    """Undo :func:`killable_workers`: the killed worker surely gone, the others stopped, jobs in-process
    again, an empty queue."""
    from voicegate.celery import app

    stop_worker(killed, signal.SIGKILL)
    for worker in others:
        if worker is not None:
            stop_worker(worker)
    app.conf.task_always_eager = True
    forget_messages(os.environ.get("CELERY_BROKER_URL", ""), queue)


def start_worker(env: dict[str, str], queue: str, *, slow: bool) -> subprocess.Popen:
    module = ["-m", "tests.slow_worker"] if slow else ["-m", "celery", "-A", "voicegate", "worker"]
    return subprocess.Popen([sys.executable, *module, "-Q", queue, "-c", "1", "--pool", "solo",
                             "-n", f"lease-{queue}-{'slow' if slow else 'fresh'}-{os.getpid()}@%h", "--without-gossip",
                             "--without-mingle", "-l", "WARNING"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_worker(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def forget_messages(broker: str, queue: str) -> None:
    """Drop ``queue``'s queued and unacknowledged messages (kombu's Redis transport keeps the latter in 'unacked').

    Messages an earlier run's killed worker left unacknowledged would be redelivered to this run's workers first.
    """
    import redis

    client = redis.Redis.from_url(broker)
    client.delete(queue)
    for tag, raw in client.hgetall("unacked").items():
        _, _, routed_to = json.loads(raw)
        if routed_to == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
