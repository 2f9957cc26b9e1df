"""Dispatching background jobs: to the Celery broker when there is one, else in-process.

Every app enqueues through :func:`enqueue`, so the embedded default (no broker) and
production (Redis + workers) run the same task code. In-process jobs run on a small thread
pool after the surrounding transaction commits (``JOBS_IN_PROCESS=thread``), or inline
(``eager``, used by the tests for determinism).
"""
from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import close_old_connections, transaction

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
