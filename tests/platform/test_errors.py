"""Errors in the API are always JSON: an unexpected exception is a logged 500 with a request id."""
from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_an_unexpected_exception_answers_json_500_and_is_logged_with_the_request_id(tenant, monkeypatch, caplog):
    from voicegate.accounts import api as accounts_api

    def broken(user):  # stands in for any bug in a view
        raise RuntimeError("a bug nobody anticipated")

    monkeypatch.setattr(accounts_api, "membership_of", broken)
    with caplog.at_level(logging.ERROR, logger="voicegate.errors"):
        response = tenant.admin.client.get("/api/v1/me/", HTTP_X_REQUEST_ID="test-req-0001")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "server_error" and "test-req-0001" in body["error"]
    assert body["request_id"] == "test-req-0001" and response["X-Request-Id"] == "test-req-0001"
    assert "a bug nobody anticipated" not in body["error"]  # no internals leak to the client
    logged = [record for record in caplog.records if "test-req-0001" in record.getMessage()]
    assert logged and logged[0].exc_info[1].args == ("a bug nobody anticipated",)


def test_every_response_carries_a_request_id(tenant):
    first = tenant.admin.client.get("/api/v1/me/")
    second = tenant.admin.client.get("/api/v1/me/", HTTP_X_REQUEST_ID="<script>")  # not a sane id: replaced
    assert len(first["X-Request-Id"]) == 32 and second["X-Request-Id"] not in (first["X-Request-Id"], "<script>")


def test_an_exception_outside_drf_is_json_on_api_paths_and_a_page_elsewhere(monkeypatch):
    import json

    from django.test import Client

    from voicegate import health

    def broken(*args, **kwargs):
        raise RuntimeError("a bug outside any DRF view")

    client = Client(raise_request_exception=False)
    monkeypatch.setattr(health, "run_checks", broken)
    api = client.get("/healthz")
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert json.loads(api.content)["code"] == "server_error"
    assert json.loads(api.content)["request_id"] == api["X-Request-Id"]
    from django.test import RequestFactory

    from voicegate.errors import server_error

    page = server_error(RequestFactory().get("/studio/"))  # the handler500 Django calls for a page
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_an_oversized_multipart_body_is_json_413(tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = tenant.moderator.client.post("/api/v1/verifications/", {"note": "x" * 5000}, format="multipart")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_large" and "over 0 MB" not in response.json()["error"]


def test_an_oversized_json_body_is_json_413_without_being_read(tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = tenant.producer.client.post("/tts", {"text": "x" * 5000, "voice_id": None}, format="json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_large" and "over 1 kB" in response.json()["error"]
    small = tenant.producer.client.post("/tts", {"text": "Hi."}, format="json")
    assert small.status_code == 400  # under the limit: answered as usual
