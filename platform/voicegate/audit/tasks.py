"""Audit background tasks."""
from __future__ import annotations

from celery import shared_task

from voicegate.audit.services import record_audit, verify_chain


@shared_task(name="voicegate.verify_audit_chain")
def verify_audit_chain() -> dict:
    """Verify the audit chain and record the result in it (schedule it with celery beat)."""
    report = verify_chain()
    record_audit("audit.chain_verified", details=report.as_dict())
    return report.as_dict()
