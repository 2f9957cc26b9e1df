"""Signed webhooks to publishing tools: a verdict was reached, a moderation decision was made.

Each POST carries the JSON event as its body and these headers:

- ``X-Voicegate-Event``: the event name (``verification.completed`` or ``moderation.decided``);
- ``X-Voicegate-Delivery``: the delivery id (the same on every retry, so receivers can de-duplicate);
- ``X-Voicegate-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Voicegate-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the endpoint's secret, of
  ``"{timestamp}." + body``. Binding the timestamp stops a captured request being replayed later;
  receivers should reject timestamps more than a few minutes old (see :func:`verify_signature`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from django.db import transaction
from django.utils import timezone

from voicegate.jobs import enqueue

from .models import WebhookDelivery, WebhookEndpoint

MAX_ATTEMPTS = 5
TIMEOUT_S = 10
SIGNATURE_HEADER = "X-Voicegate-Signature"
TIMESTAMP_HEADER = "X-Voicegate-Timestamp"


def canonical_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, timestamp: str, signature: str, *, tolerance_s: int = 300,
                     now: float | None = None) -> bool:
    """What a receiver runs: constant-time comparison and a freshness window."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature or "")


def notify(organisation, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Record one delivery per interested endpoint and send them after the transaction commits."""
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(organisation=organisation, active=True):
        if not endpoint.wants(event):
            continue
        payload = {"event": event, "organisation_id": str(organisation.pk), "created_at": timezone.now().isoformat(),
                   "data": data}
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=payload)
        enqueue("safety.deliver_webhook", str(delivery.pk))
        deliveries.append(delivery)
    return deliveries


def attempt_delivery(delivery_id: str) -> bool:
    """POST the delivery once; True when the receiver answered 2xx (then it is not sent again)."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return True
    body = canonical_body(delivery.payload)
    stamp = int(time.time())
    request = urllib.request.Request(delivery.endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "voicegate-webhooks/1",
        "X-Voicegate-Event": delivery.event, "X-Voicegate-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(delivery.endpoint.secret, stamp, body)})
    status_code, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (admin-set URL)
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = str(getattr(exc, "reason", exc))
    ok = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
        delivery.save()
    return ok
