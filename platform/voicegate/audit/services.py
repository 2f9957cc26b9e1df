"""The one function every app calls to record an action, and the chain verifier."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from django.db import models, transaction
from django.utils import timezone

from .chain import GENESIS_HASH, canonical_json, entry_digest, normalise_details
from .models import AuditEntry, AuditHead


def describe_target(target: Any) -> tuple[str, str]:
    """(type, id) for a model instance, a (type, id) pair, or nothing."""
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        kind, ident = target
        return str(kind), str(ident)
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk)
    raise TypeError(f"cannot describe audit target {target!r}")


def _actor_fields(actor: Any) -> tuple[Any, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    from voicegate.accounts.models import member_name

    return actor.pk, member_name(actor)  # the name people see (usernames are unique per organisation)


def record_audit(action: str, *, actor: Any = None, organisation: Any = None, target: Any = None,
                 details: dict[str, Any] | None = None) -> AuditEntry:
    """Append an entry to the chain inside the caller's transaction.

    Call it from the service that performs the action, inside the same ``transaction.atomic``
    block: if the action rolls back, so does its entry. Writers serialise on the chain head
    row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions do the
    same), held until the outer transaction commits, so the chain never forks.
    """
    actor_id, actor_name = _actor_fields(actor)
    target_type, target_id = describe_target(target)
    clean_details = normalise_details(details)
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        seq = head.seq + 1
        created_at = timezone.now()
        organisation_id = getattr(organisation, "pk", organisation)
        digest = entry_digest(seq=seq, created_at=created_at, actor_id=actor_id, actor_name=actor_name,
                              organisation_id=organisation_id, action=action, target_type=target_type,
                              target_id=target_id, details=clean_details, prev_hash=head.hash)
        entry = AuditEntry(seq=seq, created_at=created_at, actor_id=actor_id, actor_name=actor_name,
                           organisation_id=organisation_id, action=action, target_type=target_type,
                           target_id=target_id, details=clean_details, prev_hash=head.hash, hash=digest)
        entry.save()
        AuditHead.objects.filter(pk=1).update(seq=seq, hash=digest)
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad: int | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad": self.first_bad, "reason": self.reason}


def recompute_hash(entry: AuditEntry) -> str:
    return entry_digest(seq=entry.seq, created_at=entry.created_at, actor_id=entry.actor_id,
                        actor_name=entry.actor_name, organisation_id=entry.organisation_id,
                        action=entry.action, target_type=entry.target_type, target_id=entry.target_id,
                        details=entry.details, prev_hash=entry.prev_hash)


def verify_chain() -> ChainReport:
    """Walk the chain in sequence order; report the first entry that does not fit.

    Finds an edited entry (its hash no longer matches), a deleted one (a gap in the sequence,
    or the next entry's ``prev_hash`` pointing at nothing), reordered entries (sequence numbers
    are inside the hash) and a deleted tail (the head row is ahead of the last entry).
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(False, count, entry.seq,
                               f"entry {expected_seq} is missing (next present entry is {entry.seq})")
        if entry.prev_hash != expected_prev:
            return ChainReport(False, count, entry.seq, "previous-hash link does not match the entry before it")
        if recompute_hash(entry) != entry.hash:
            return ChainReport(False, count, entry.seq, "entry content does not match its hash (edited)")
        expected_prev = entry.hash
        expected_seq += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        return ChainReport(False, count, expected_seq if head.seq >= expected_seq else head.seq,
                           f"the chain head records entry {head.seq}, but the last entry is {expected_seq - 1}"
                           " (entries were removed from the end, or the head was edited)")
    return ChainReport(True, count, None, None)


EXPORT_FIELDS = ("seq", "created_at", "actor_name", "organisation_id", "action", "target_type", "target_id",
                 "details", "prev_hash", "hash")


def export_rows(entries: Iterable[AuditEntry]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        yield {
            "seq": entry.seq,
            "created_at": entry.created_at.isoformat(timespec="microseconds"),
            "actor_name": entry.actor_name,
            "organisation_id": str(entry.organisation_id) if entry.organisation_id else None,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "details": entry.details,
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
        }


def export_jsonl(entries: Iterable[AuditEntry]) -> Iterator[str]:
    for row in export_rows(entries):
        yield canonical_json(row) + "\n"


def export_csv(entries: Iterable[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    yield buffer.getvalue()
    for row in export_rows(entries):
        buffer.seek(0)
        buffer.truncate()
        row["details"] = json.dumps(row["details"], sort_keys=True, ensure_ascii=False)
        writer.writerow(row)
        yield buffer.getvalue()
