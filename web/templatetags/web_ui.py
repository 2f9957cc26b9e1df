"""Small presentation filters for the web UI."""
from __future__ import annotations

from django import template

from voicegate.accounts.models import member_name as accounts_member_name

register = template.Library()


@register.filter
def sentence(message) -> str:
    """Service messages are lower-case clauses ("give the voice a name"); people read sentences."""
    text = str(message or "").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?。！？)" else text + "."


@register.filter
def member_name(user) -> str:
    """A user as people know it: its username within its organisation ("" for none)."""
    return accounts_member_name(user) if user else ""


@register.filter
def percent(value, digits: int = 0) -> str:
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "–"


@register.filter
def number(value, digits: int = 1) -> str:
    try:
        return f"{float(value):.{int(digits)}f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def plain(value) -> str:
    """A report value for people: a related record by its name, lists joined, dicts as key: value."""
    if isinstance(value, dict):
        if "name" in value:
            return str(value["name"])
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "–" if value in (None, "") else str(value)
