"""Lookups shared by the consent operator commands (ids or names, with errors a person can act on)."""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from consent.models import Voice
from consent.services import AudioUpload
from voicegate.accounts.models import Organisation
from voicegate.errors import DomainError, NotFound


def organisation(value: str) -> Organisation:
    """An organisation by id or by name."""
    found = None
    try:
        found = Organisation.objects.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        pass
    found = found or Organisation.objects.filter(name=value).first() or Organisation.objects.filter(slug=value).first()
    if found is None:
        raise NotFound(f"no organisation {value!r} (give its id or its name)")
    return found


def voice(value: str) -> Voice:
    try:
        found = Voice.objects.select_related("organisation", "owner").filter(pk=uuid.UUID(value)).first()
    except ValueError:
        found = None
    if found is None:
        raise NotFound(f"no voice with id {value!r}")
    return found


def read_upload(path: str) -> AudioUpload:
    file = Path(path)
    if not file.is_file():
        raise DomainError(f"file not found: {path}")
    with open(file, "rb") as handle:
        return AudioUpload.from_file(handle)


def csv_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{value!r} is not a date; use YYYY-MM-DD") from None
