"""/healthz: database, broker and storage, each with its own status."""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .config import mask_url


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"mode": f"in-process ({settings.JOBS_IN_PROCESS})"}
    from celery import current_app

    with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"url": mask_url(settings.CELERY_BROKER_URL)}


def check_storage() -> dict[str, Any]:
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"ok":
                raise RuntimeError("storage returned different bytes than were written")
    finally:
        default_storage.delete(name)
    return {"backend": settings.STORAGE_BACKEND}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def run_checks() -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            info = check()
            results[name] = {"status": "ok", **info}
        except Exception as exc:  # a health check reports every failure, whatever its type
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return results


@never_cache
@require_GET
def healthz(request):
    results = run_checks()
    healthy = all(result["status"] == "ok" for result in results.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503)
