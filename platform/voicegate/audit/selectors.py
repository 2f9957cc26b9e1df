"""Reads of the audit trail, always scoped to one organisation unless the caller is staff."""
from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries(*, organisation=None, actor: str | None = None, action: str | None = None,
                  target_type: str | None = None, target_id: str | None = None,
                  since: datetime | None = None, until: datetime | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if organisation is not None:
        entries = entries.filter(organisation=organisation)
    if actor:
        entries = entries.filter(actor_name=actor)
    if action:
        entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lte=until)
    return entries.order_by("-seq")


def entries_for_object(obj) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(target_type=obj._meta.label_lower, target_id=str(obj.pk)).order_by("seq")
