"""The moderation queue: assignment, decisions with notes and history, audit, signed webhooks."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from safety.models import ModerationItem, WebhookDelivery, WebhookEndpoint
from safety.webhooks import verify_signature
from voicegate.audit.models import AuditEntry

from tests.speech import human_speech

from .conftest import upload, wav


@pytest.fixture
def item(tenant):
    verification = upload(tenant.producer.client, wav(human_speech("hts1"))).json()
    return ModerationItem.objects.get(verification_id=verification["id"])


def test_every_verification_enters_the_queue_with_its_verdict(tenant, item):
    rows = tenant.moderator.client.get("/api/v1/moderation/").json()["results"]
    assert [row["id"] for row in rows] == [str(item.pk)]
    assert rows[0]["verdict"] == "no_evidence" and rows[0]["status"] == "open" and rows[0]["explanation"]
    assert tenant.moderator.client.get("/api/v1/moderation/?verdict=generated_here").json()["results"] == []
    assert tenant.moderator.client.get("/api/v1/moderation/?status=bogus").status_code == 400


def test_assign_decide_and_history_are_audited(tenant, item):
    client = tenant.moderator.client
    assigned = client.post(f"/api/v1/moderation/{item.pk}/assign/", {"user": "me"}, format="json")
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == tenant.moderator.username
    assert client.get("/api/v1/moderation/?assigned=me").json()["results"][0]["id"] == str(item.pk)
    refused = client.post(f"/api/v1/moderation/{item.pk}/decide/", {"decision": "take_down"}, format="json")
    assert refused.status_code == 400 and "notes" in refused.json()["error"]
    decided = client.post(f"/api/v1/moderation/{item.pk}/decide/",
                          {"decision": "take_down", "notes": "impersonates our anchor"}, format="json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["decision"] == "take_down" and decided.json()["status"] == "closed"
    again = client.post(f"/api/v1/moderation/{item.pk}/decide/", {"decision": "approve"}, format="json")
    assert again.status_code == 409
    history = client.get(f"/api/v1/moderation/{item.pk}/history/").json()
    assert [event["action"] for event in history] == ["queued", "assigned", "decided"]
    assert history[-1]["notes"] == "impersonates our anchor" and history[-1]["actor"] == tenant.moderator.username
    entry = AuditEntry.objects.get(action="moderation.decided", target_id=str(item.pk))
    assert entry.details["decision"] == "take_down" and entry.actor_name == tenant.moderator.username
    assert AuditEntry.objects.filter(action="moderation.assigned", target_id=str(item.pk)).exists()


def test_escalated_item_stays_open_for_a_second_decision(tenant, item):
    client = tenant.moderator.client
    client.post(f"/api/v1/moderation/{item.pk}/decide/", {"decision": "escalate", "notes": "legal"}, format="json")
    assert ModerationItem.objects.get(pk=item.pk).status == "escalated"
    final = tenant.admin.client.post(f"/api/v1/moderation/{item.pk}/decide/", {"decision": "approve"}, format="json")
    assert final.status_code == 200 and final.json()["decided_by"] == tenant.admin.username


def test_items_can_only_be_assigned_to_moderators_of_the_organisation(tenant, other_tenant, item):
    client = tenant.moderator.client
    producer = client.post(f"/api/v1/moderation/{item.pk}/assign/", {"user": tenant.producer.username},
                           format="json")
    assert producer.status_code == 403
    outsider = client.post(f"/api/v1/moderation/{item.pk}/assign/", {"user": other_tenant.moderator.username},
                           format="json")
    assert outsider.status_code == 404


@pytest.mark.parametrize("role,status", [("moderator", 200), ("admin", 200), ("producer", 403)])
def test_only_moderators_and_admins_see_the_queue(tenant, role, status):
    assert tenant.member(role).client.get("/api/v1/moderation/").status_code == status


class _Receiver(BaseHTTPRequestHandler):
    secret = ""
    received: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify_signature(self.secret, body, self.headers["X-Voicegate-Timestamp"],
                              self.headers["X-Voicegate-Signature"])
        type(self).received.append((ok, self.headers["X-Voicegate-Event"], json.loads(body)))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
        else:
            self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(tenant):
    endpoint = WebhookEndpoint.objects.create(organisation=tenant.organisation, url="http://127.0.0.1:1/")
    _Receiver.secret, _Receiver.received, _Receiver.fail_first = endpoint.secret, [], 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    endpoint.url = f"http://127.0.0.1:{server.server_port}/hooks"
    endpoint.save()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()


def test_signed_webhooks_reach_the_publishing_tool_for_verdicts_and_decisions(
        tenant, receiver, django_capture_on_commit_callbacks):
    _Receiver.fail_first = 1  # the first attempt fails; the retry delivers
    with django_capture_on_commit_callbacks(execute=True):
        verification = upload(tenant.moderator.client, wav(human_speech("hts1"))).json()
    events = [(ok, event) for ok, event, _ in _Receiver.received]
    assert events == [(True, "verification.completed"), (True, "verification.completed")]
    assert _Receiver.received[-1][2]["data"]["verdict"] == "no_evidence"
    delivery = WebhookDelivery.objects.get(endpoint=receiver)
    assert delivery.status == "delivered" and delivery.attempts == 2
    item = ModerationItem.objects.get(verification_id=verification["id"])
    with django_capture_on_commit_callbacks(execute=True):
        tenant.moderator.client.post(f"/api/v1/moderation/{item.pk}/decide/", {"decision": "approve"}, format="json")
    ok, event, body = _Receiver.received[-1]
    assert ok and event == "moderation.decided" and body["data"]["decision"] == "approve"


def test_a_tampered_webhook_body_fails_the_signature_check(receiver):
    from safety.webhooks import canonical_body, sign

    body = canonical_body({"event": "x"})
    signature = sign(receiver.secret, 1_700_000_000, body)
    assert verify_signature(receiver.secret, body, "1700000000", signature, now=1_700_000_010)
    assert not verify_signature(receiver.secret, body + b" ", "1700000000", signature, now=1_700_000_010)
    assert not verify_signature("another-secret", body, "1700000000", signature, now=1_700_000_010)
    assert not verify_signature(receiver.secret, body, "1700000000", signature, now=1_700_001_000)  # replayed
