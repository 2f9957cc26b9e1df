"""Safety's settings: Django settings win (tests override them), else the environment.

The variables are declared in voicegate.config.VARIABLES and listed in the README.
"""
from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from voicegate.config import VARIABLE_NAMES

_DEFAULTS: dict[str, float] = {
    "VERIFY_MAX_BYTES": 100_000_000,  # 100 MB, the figure every message and the README show
    "VERIFY_MAX_SECONDS": 1800.0,
    "VERIFY_SYNC_SECONDS": 120.0,
    "VERIFY_VOICE_ANALYSIS_SECONDS": 6.0,
    "VERIFY_SYNTHETIC_MAX_SECONDS": 60.0,
    # Fresh fingerprint rows are folded into per-hash posting blocks once there are this many.
    "FINGERPRINT_COMPACT_ROWS": 50_000,
}


def setting(name: str) -> float:
    if hasattr(settings, name):
        return float(getattr(settings, name))
    # Only variables declared in voicegate.config (and listed in the README) come from the environment.
    raw = os.environ.get(name, "").strip() if name in VARIABLE_NAMES else ""
    if not raw:
        return float(_DEFAULTS[name])
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from exc


def max_bytes() -> int:
    return int(setting("VERIFY_MAX_BYTES"))


def max_seconds() -> float:
    return setting("VERIFY_MAX_SECONDS")


def sync_seconds() -> float:
    return setting("VERIFY_SYNC_SECONDS")


def voice_analysis_seconds() -> float:
    return setting("VERIFY_VOICE_ANALYSIS_SECONDS")


def compact_rows() -> int:
    return int(setting("FINGERPRINT_COMPACT_ROWS"))


def synthetic_max_seconds() -> float:
    return setting("VERIFY_SYNTHETIC_MAX_SECONDS")


def synthetic_threshold() -> float | None:
    """The operator's detector threshold, or None for the model's own."""
    if hasattr(settings, "VERIFY_SYNTHETIC_THRESHOLD"):
        value = getattr(settings, "VERIFY_SYNTHETIC_THRESHOLD")
        return None if value is None else float(value)
    raw = os.environ.get("VERIFY_SYNTHETIC_THRESHOLD", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"VERIFY_SYNTHETIC_THRESHOLD={raw!r} is not a number") from exc
    if not 0.0 < value < 1.0:
        raise ImproperlyConfigured(f"VERIFY_SYNTHETIC_THRESHOLD={raw!r} must be a probability between 0 and 1")
    return value
