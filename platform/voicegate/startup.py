"""Fail at start, naming the variable, when the configured services cannot be used."""
from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from .config import mask_url


def database_problem() -> str | None:
    try:
        connection.ensure_connection()
    except Exception as exc:  # any driver error means the same thing to the operator
        db = settings.DATABASES["default"]
        where = db.get("HOST") or db.get("NAME")
        return (f"DATABASE_URL points at a database that cannot be reached ({db['ENGINE'].rsplit('.', 1)[-1]} "
                f"at {where}): {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    return None


def verify_configuration() -> None:
    problem = database_problem()
    if problem:
        raise ImproperlyConfigured(problem)


@checks.register("voicegate")
def check_database_reachable(app_configs=None, **kwargs):
    problem = database_problem()
    return [checks.Error(problem, id="voicegate.E001")] if problem else []


__all__ = ["verify_configuration", "mask_url"]
