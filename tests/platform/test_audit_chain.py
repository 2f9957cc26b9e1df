"""The audit trail is append-only, tamper-evident and written with the action it records."""
from __future__ import annotations

import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from voicegate.audit.models import AppendOnlyError, AuditEntry
from voicegate.audit.services import record_audit, verify_chain


def _write(n: int, org=None):
    for i in range(n):
        record_audit("test.event", organisation=org, target=("test.thing", i), details={"i": i, "note": "日本語"})


def _raw(sql: str, params=()):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A DBA who owns the table can switch the trigger off; the chain must still tell.
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


def test_chain_of_recorded_actions_verifies(db):
    _write(5)
    report = verify_chain()
    assert report.ok and report.entries == 5 and report.first_bad is None
    entries = list(AuditEntry.objects.order_by("seq"))
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))


def test_edited_entry_is_found_and_named(db):
    _write(6)
    _raw("UPDATE audit_auditentry SET details = %s WHERE seq = 4", [json.dumps({"i": 99})])
    report = verify_chain()
    assert not report.ok and report.first_bad == 4 and "edited" in report.reason


def test_deleted_entry_is_found(db):
    _write(6)
    _raw("DELETE FROM audit_auditentry WHERE seq = 3")
    report = verify_chain()
    assert not report.ok and report.first_bad == 4 and "missing" in report.reason


def test_deleted_tail_is_found(db):
    _write(4)
    _raw("DELETE FROM audit_auditentry WHERE seq = 4")
    report = verify_chain()
    assert not report.ok and "head" in report.reason


def test_swapped_entries_are_found(db):
    _write(5)
    a, b = AuditEntry.objects.get(seq=2), AuditEntry.objects.get(seq=3)
    # Swap the contents of two rows, keeping each row's position: a reordering.
    for row, other in ((a, b), (b, a)):
        _raw("UPDATE audit_auditentry SET action = %s, target_id = %s, details = %s, hash = %s, prev_hash = %s "
             "WHERE seq = %s", [other.action, other.target_id, json.dumps(other.details), f"x{row.seq}" * 8,
                                other.prev_hash, row.seq])
    _raw("UPDATE audit_auditentry SET hash = %s WHERE seq = 2", [b.hash])
    _raw("UPDATE audit_auditentry SET hash = %s WHERE seq = 3", [a.hash])
    report = verify_chain()
    assert not report.ok and report.first_bad == 2


def test_orm_refuses_update_and_delete(db):
    _write(1)
    entry = AuditEntry.objects.get()
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert verify_chain().ok


def test_entry_rolls_back_with_its_action(db):
    _write(1)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            record_audit("test.doomed")
            raise RuntimeError("the action failed")
    assert not AuditEntry.objects.filter(action="test.doomed").exists()
    _write(1)
    assert verify_chain().ok and AuditEntry.objects.count() == 2


def test_audit_verify_command_reports_json_and_fails_on_tampering(db, capsys):
    _write(3)
    call_command("audit_verify", "--json")
    assert json.loads(capsys.readouterr().out) == {"ok": True, "entries": 3, "first_bad": None, "reason": None}
    _raw("UPDATE audit_auditentry SET actor_name = 'mallory' WHERE seq = 2")
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify", "--json")
    assert exit_info.value.code != 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["first_bad"] == 2


@pytest.mark.postgres
def test_postgres_trigger_refuses_raw_update_and_delete(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only; CI runs it (DATABASE_URL)")
    _write(2)
    from django.db import DatabaseError

    for sql in ("UPDATE audit_auditentry SET action = 'x' WHERE seq = 1", "DELETE FROM audit_auditentry WHERE seq = 2"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    assert verify_chain().ok and AuditEntry.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_writers_keep_one_chain():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only; CI runs it (DATABASE_URL)")
    writers, per_writer = 6, 15
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    record_audit("test.parallel", details={"worker": worker, "i": i})
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = verify_chain()
    assert report.ok and report.entries == writers * per_writer
    assert AuditEntry.objects.values("prev_hash").distinct().count() == writers * per_writer
