"""Shared argument handling for the watermark operator commands."""
from __future__ import annotations

import re
import secrets

from voicegate.errors import DomainError

_HEX = re.compile(r"^[0-9a-fA-F]{8}$")


def parse_payload(text: str | None) -> bytes:
    """A 32-bit payload from 8 hex digits; random when not given."""
    if text is None:
        return secrets.token_bytes(4)
    cleaned = text.strip().removeprefix("0x")
    if not _HEX.match(cleaned):
        raise DomainError(f"--payload must be exactly 8 hex digits (32 bits), e.g. 1a2b3c4d; got {text!r}")
    return bytes.fromhex(cleaned)
