"""Brute-force protection: failed sign-ins per account and per address, failed API tokens per address."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-9"  # tests.conftest gives members this password


def _sign_in(client: Client, url: str, username: str, password: str, organisation: str = "Acme Media"):
    return client.post(url, {"organisation": organisation, "username": username, "password": password})


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_five_wrong_passwords_block_the_account_with_a_message_and_an_audit_entry(tenant, url):
    user = tenant.producer.user
    if url.startswith("/admin"):
        user.is_staff = True
        user.save()
    client = Client()
    for _ in range(5):
        page = _sign_in(client, url, tenant.producer.username, "wrong-password-1")
        assert page.status_code == 200 and "Too many failed sign-ins" not in page.content.decode()
    blocked = _sign_in(client, url, tenant.producer.username, PASSWORD)  # even the right password
    assert blocked.status_code == 200
    assert "Too many failed sign-ins for this account" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="auth.locked_out")
    assert entry.details["scope"] == "account" and entry.details["username"] == tenant.producer.username
    assert entry.organisation_id == tenant.organisation.pk
    assert _sign_in(Client(), url, tenant.moderator.username, "wrong").status_code == 200  # others unaffected


def test_a_successful_sign_in_clears_the_account_count(tenant):
    client = Client()
    for _ in range(4):
        _sign_in(client, "/login/", tenant.producer.username, "wrong-password-1")
    assert _sign_in(client, "/login/", tenant.producer.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _sign_in(client, "/login/", tenant.producer.username, "wrong-password-1")
    assert _sign_in(client, "/login/", tenant.producer.username, PASSWORD).status_code == 302


def test_many_accounts_tried_from_one_address_block_that_address(tenant, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    client = Client()
    for number in range(6):
        _sign_in(client, "/login/", f"guess-{number}", "wrong-password-1")
    page = _sign_in(client, "/login/", tenant.producer.username, PASSWORD)
    assert "Too many failed sign-ins from your network address" in page.content.decode()
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert _sign_in(other, "/login/", tenant.producer.username, PASSWORD).status_code == 302
    assert AuditEntry.objects.filter(action="auth.locked_out", details__scope="address").count() == 1


def test_invalid_api_tokens_from_one_address_are_throttled(tenant, settings):
    settings.TOKEN_FAILURE_LIMIT = 5
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token vg_not-a-real-token")
    assert [bad.get("/api/v1/me/").status_code for _ in range(5)] == [401] * 5
    refused = bad.get("/api/v1/me/")
    assert refused.status_code == 429 and "invalid API tokens" in refused.json()["error"]
    assert tenant.producer.client.get("/api/v1/me/").status_code == 429  # the same address
    elsewhere = APIClient(REMOTE_ADDR="10.9.8.7")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Token {tenant.producer.token}")
    assert elsewhere.get("/api/v1/me/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.locked_out", details__scope="token").exists()


def test_lockout_and_throttle_messages_follow_the_users_language(tenant, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 7
    settings.TOKEN_FAILURE_LIMIT = 2
    client = Client()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})  # the language switcher
    for _ in range(5):
        _sign_in(client, "/login/", tenant.producer.username, "wrong-password-1")
    account = _sign_in(client, "/login/", tenant.producer.username, PASSWORD).content.decode()
    assert "此账号登录失败次数过多：登录已被封锁，最长 15 分钟。" in account and "Too many" not in account
    for number in range(2):
        _sign_in(client, "/login/", f"guess-{number}", "wrong-password-1")
    address = _sign_in(client, "/login/", tenant.moderator.username, PASSWORD).content.decode()
    assert "来自你的网络地址的登录失败次数过多：登录已被封锁，最长 15 分钟。" in address
    bad = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans", REMOTE_ADDR="10.4.4.4")
    bad.credentials(HTTP_AUTHORIZATION="Token vg_not-a-real-token")
    for _ in range(2):
        bad.get("/api/v1/me/")
    refused = bad.get("/api/v1/me/")
    assert refused.status_code == 429 and refused.json()["error"].startswith("来自你的网络地址的无效 API 令牌请求过多")
    english = _sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), "/login/", tenant.producer.username, PASSWORD)
    assert "Too many failed sign-ins for this account: sign-in is blocked for up to 15 minutes." in \
        english.content.decode()
