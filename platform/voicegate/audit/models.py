"""The tamper-evident audit trail: an append-only hash chain.

Each entry's ``hash`` is SHA-256 over a canonical serialisation of its fields and the previous
entry's hash (see :func:`voicegate.audit.chain.entry_digest`), so editing, deleting or
reordering any entry breaks the chain from that point on. ``AuditHead`` holds the newest
sequence number and hash; writers lock it, which keeps one chain under concurrency and lets
the verifier notice a deleted tail.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit entries cannot be updated")

    def bulk_create(self, objs, *args, **kwargs):
        raise AppendOnlyError("audit entries are written one at a time through record_audit()")


class AuditEntry(models.Model):
    # Actor and organisation are DO_NOTHING without a database constraint: deleting a user
    # must never rewrite history (actor_name keeps who it was).
    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              related_name="+", db_constraint=False)
    actor_name = models.CharField(max_length=150, blank=True, db_index=True)
    organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.DO_NOTHING,
                                     related_name="+", db_constraint=False)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True, db_index=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["organisation", "seq"]),
                   models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name or 'system'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditHead(models.Model):
    """One row: the newest entry's sequence number and hash (the chain's lock)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)
