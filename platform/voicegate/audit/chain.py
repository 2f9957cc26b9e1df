"""Canonical serialisation and hashing of audit entries (no Django here)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def normalise_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Round-trip through JSON so what is hashed equals what the database gives back."""
    return json.loads(canonical_json(details or {}))


def format_timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def entry_digest(*, seq: int, created_at: datetime, actor_id: Any, actor_name: str,
                 organisation_id: Any, action: str, target_type: str, target_id: str,
                 details: dict[str, Any], prev_hash: str) -> str:
    payload = {
        "seq": seq,
        "created_at": format_timestamp(created_at),
        "actor_id": None if actor_id is None else str(actor_id),
        "actor_name": actor_name,
        "organisation_id": None if organisation_id is None else str(organisation_id),
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
