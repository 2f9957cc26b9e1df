"""Dispatching background jobs: to the Celery broker when there is one, else in-process.

Every app enqueues through :func:`enqueue`, so the embedded default (no broker) and
production (Redis + workers) run the same task code. In-process jobs run on a small thread
pool after the surrounding transaction commits (``JOBS_IN_PROCESS=thread``), or inline
(``eager``, used by the tests for determinism).

Jobs a Celery worker runs (synthesis, enrollments, verifications) hold a lease the worker renews
(:class:`LeaseHeartbeat`); each app registers a reaper that takes back jobs whose lease ran out,
and :func:`reap_expired_jobs` runs them all (every worker at start and periodically,
``manage.py reap_jobs``, celery beat).
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="voicegate-job")
        return _pool


def _run_in_thread(task: Task, args: tuple, kwargs: dict, task_id: str) -> None:
    close_old_connections()
    try:
        task.apply(args=args, kwargs=kwargs, task_id=task_id)
    except Exception:  # the task records its own failure; this only keeps the pool alive
        logger.exception("in-process job %s failed", task_id)
    finally:
        close_old_connections()


def broker_configured() -> bool:
    return bool(settings.CELERY_BROKER_URL)


def task_named(name: str) -> Task:
    """The registered Celery task called ``name`` (e.g. ``"synthesis.run_generation"``).

    Services enqueue by name, so they never import their app's ``tasks`` module (which imports
    the services): the task modules are loaded the way a worker loads them, on first use.
    """
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()  # autodiscovers every app's tasks.py
    try:
        return tasks[name]
    except KeyError:
        raise LookupError(f"no Celery task named {name!r} is registered") from None


def enqueue(task: Task | str, *args: Any, **kwargs: Any) -> str:
    """Queue ``task`` (a task or its registered name) once the current transaction commits.

    Returns the Celery task id.
    """
    if isinstance(task, str):
        task = task_named(task)
    task_id = str(uuid.uuid4())

    def dispatch() -> None:
        if broker_configured():
            task.apply_async(args=args, kwargs=kwargs, task_id=task_id)
        elif settings.JOBS_IN_PROCESS == "eager":
            task.apply(args=args, kwargs=kwargs, task_id=task_id)
        else:
            _thread_pool().submit(_run_in_thread, task, args, kwargs, task_id)

    transaction.on_commit(dispatch)
    return task_id


def revoke(task_id: str) -> None:
    """Ask workers to drop a queued task (in-process jobs check their own cancel flag)."""
    if broker_configured() and task_id:
        current_app.control.revoke(task_id)


# --------------------------------------------------------------------------- leases and reapers
def lease_s() -> float:
    """Seconds a worker's claim on a job lasts without renewal (SYNTHESIS_LEASE_S; every kind of job)."""
    return float(getattr(settings, "SYNTHESIS_LEASE_S", 60))


def max_attempts() -> int:
    """Attempts of a job before it is marked failed (SYNTHESIS_MAX_ATTEMPTS; every kind of job)."""
    return int(getattr(settings, "SYNTHESIS_MAX_ATTEMPTS", 3))


def lease_until() -> Any:
    return timezone.now() + timezone.timedelta(seconds=lease_s())


class LeaseHeartbeat:
    """Renews a claimed job's lease (the ``model`` row ``job_id``, while 'running') every third of the lease.

    Used by the Celery tasks: while the worker lives, the job's lease stays ahead of now; when
    the worker is killed the renewals stop and the reaper takes the job back.
    """

    def __init__(self, job_id: Any, model):
        self.model = model
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(lease_s() / 3):
                self.model.objects.filter(pk=self.job_id, status="running").update(lease_expires_at=lease_until())
        except Exception:  # the job itself reports failures; a lost renewal only risks a takeover
            logger.exception("lease renewal of %s %s stopped", self.model.__name__, self.job_id)
        finally:
            connection.close()


_reapers: list[str] = []


def register_reaper(path: str) -> None:
    """Register (from an AppConfig.ready) the dotted path of a function re-queueing its app's expired jobs.

    The function returns ``{key: [ids]}``; keys are distinct across apps (they make up ``reap_jobs``'s JSON).
    """
    if path not in _reapers:
        _reapers.append(path)


def reap_expired_jobs() -> dict[str, list[str]]:
    """Run every registered reaper: jobs whose worker stopped renewing their lease are re-queued or failed."""
    reaped: dict[str, list[str]] = {}
    for path in _reapers:
        reap: Callable[[], dict[str, list[str]]] = import_string(path)
        reaped.update(reap())
    return reaped
