"""Usernames are unique per organisation: nobody learns which names another organisation uses.

Members sign in with their organisation, username and password (web UI, Django admin); API tokens,
the audit trail and every list show the name people typed.
"""
from __future__ import annotations

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from voicegate.accounts.models import Membership, Role, member_name, member_username
from voicegate.accounts.selectors import member_named
from voicegate.accounts.services import add_member, authenticate_token, issue_api_token
from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD_A, PASSWORD_B = "ann-of-acme-pass-1", "ann-of-rival-pass-2"


def _create(client, username: str):
    return client.post("/api/v1/members/", {"username": username, "role": "producer", "password": "a-long-password-1"},
                       format="json")


def _sign_in(url: str, organisation: str, username: str, password: str, client: Client | None = None):
    client = client or Client()
    response = client.post(url, {"organisation": organisation, "username": username, "password": password})
    return client, response


def _signed_in_as(client: Client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def test_org_create_takes_an_admin_name_used_by_another_organisation(tenant, capsys):
    call_command("org_create", "Third Newsroom", "--admin", tenant.admin.username, "--json")
    assert member_named(tenant.organisation, tenant.admin.username).user == tenant.admin.user
    assert Membership.objects.filter(organisation__name="Third Newsroom", role=Role.ADMIN).count() == 1


@pytest.fixture
def two_anns(tenant, other_tenant):
    ours = add_member(tenant.organisation, "ann", Role.MODERATOR, actor=tenant.admin.user, password=PASSWORD_A)
    theirs = add_member(other_tenant.organisation, "ann", Role.MODERATOR, actor=other_tenant.admin.user,
                        password=PASSWORD_B)
    return ours.user, theirs.user


def test_members_of_the_same_name_sign_in_each_to_their_own_organisation(tenant, other_tenant, two_anns):
    ours, theirs = two_anns
    for reference in ("Acme Media", "acme media", "acme-media"):  # its name, in any case, or its short name
        client, response = _sign_in("/login/", reference, "ann", PASSWORD_A)
        assert response.status_code == 302 and _signed_in_as(client) == ours, reference
    client, response = _sign_in("/login/", "Rival Studio", "ann", PASSWORD_B)
    assert response.status_code == 302 and _signed_in_as(client) == theirs
    page = client.get("/moderation/").content.decode()
    assert "ann · Rival Studio" in page and "@" + other_tenant.organisation.pk.hex not in page
    for organisation, password in (("Rival Studio", PASSWORD_A), ("", PASSWORD_A), ("No Such Org", PASSWORD_A)):
        client, response = _sign_in("/login/", organisation, "ann", password)
        assert response.status_code == 200 and _signed_in_as(client) is None
        assert "That organisation, username and password do not match" in response.content.decode()
    # The stored Django username is no way in either: it belongs to an organisation's account.
    _, response = _sign_in("/login/", "", ours.get_username(), PASSWORD_A)
    assert response.status_code == 200


def test_the_django_admin_signs_in_members_by_organisation_and_platform_accounts_without(tenant, two_anns):
    ours, _ = two_anns
    ours.is_staff = True
    ours.save()
    client, response = _sign_in("/admin/login/", "Acme Media", "ann", PASSWORD_A)
    assert response.status_code == 302 and _signed_in_as(client) == ours
    page = Client().get("/admin/login/").content.decode()
    assert 'name="organisation"' in page and "Leave it empty for a platform operator account" in page
    get_user_model().objects.create_superuser("operator", password="operator-pass-1")
    client, response = _sign_in("/admin/login/", "", "operator", "operator-pass-1")
    assert response.status_code == 302 and _signed_in_as(client).get_username() == "operator"
    _, response = _sign_in("/admin/login/", "Acme Media", "operator", "operator-pass-1")
    assert response.status_code == 200  # a platform account is no member of an organisation


def test_api_tokens_and_the_audit_trail_name_each_member_in_its_own_organisation(tenant, other_tenant, two_anns):
    ours, theirs = two_anns
    for user, organisation in ((ours, "Acme Media"), (theirs, "Rival Studio")):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_api_token(user).raw}")
        me = client.get("/api/v1/me/").json()
        assert me["username"] == "ann" and me["organisation"] == organisation
    entry = AuditEntry.objects.filter(action="api_token.issued", actor_id=ours.pk).get()
    assert entry.actor_name == "ann" and entry.details["user"] == "ann"
    assert AuditEntry.objects.filter(action="member.added", organisation_id=tenant.organisation.pk,
                                     details__username="ann").count() == 1


def test_lockout_counts_each_organisations_account_apart(tenant, other_tenant, two_anns):
    client = Client()
    for reference in ("Acme Media", "acme-media", "ACME MEDIA", "Acme Media", "acme-media"):  # one account
        _sign_in("/login/", reference, "ann", "wrong-password-1", client)
    _, blocked = _sign_in("/login/", "Acme Media", "ann", PASSWORD_A, client)
    assert "Too many failed sign-ins for this account" in blocked.content.decode()
    entry = AuditEntry.objects.get(action="auth.locked_out")
    assert entry.organisation_id == tenant.organisation.pk and entry.details["username"] == "ann"
    _, other = _sign_in("/login/", "Rival Studio", "ann", PASSWORD_B, client)
    assert other.status_code == 302  # the other organisation's ann is another account


def test_the_django_admin_adds_members_per_organisation(tenant, other_tenant, dashboard):
    name = other_tenant.producer.username
    page = dashboard.post("/admin/accounts/membership/add/", {"organisation": tenant.organisation.pk, "username": name,
                                                              "role": "moderator", "password": "a-long-password-1"})
    assert page.status_code == 302, page.content.decode()[:2000]
    added = member_named(tenant.organisation, name)
    assert added.role == Role.MODERATOR and added.user != other_tenant.producer.user
    assert AuditEntry.objects.filter(action="member.added", organisation_id=tenant.organisation.pk,
                                     details__username=name).count() == 1
    again = dashboard.post("/admin/accounts/membership/add/", {"organisation": tenant.organisation.pk,
                                                               "username": name, "role": "moderator"})
    assert again.status_code == 200 and "already has, or had, a member named" in again.content.decode()
    users = dashboard.get("/admin/auth/user/", {"q": name}).content.decode()
    assert "Acme Media" in users and "Rival Studio" in users  # the operator sees both accounts and their organisations


def test_a_removed_members_name_stays_taken_in_its_organisation_only(tenant, other_tenant):
    producer = Membership.objects.get(user=tenant.producer.user)
    assert tenant.admin.client.delete(f"/api/v1/members/{producer.pk}/").status_code == 204
    again = _create(tenant.admin.client, tenant.producer.username)
    assert again.status_code == 409 and "choose another username" in again.json()["error"]
    assert _create(other_tenant.admin.client, tenant.producer.username).status_code == 201


@pytest.mark.parametrize("name,message", [("", "may not be blank"), ("has space", "not a valid username"),
                                          ("x" * 118, "no more than 117 characters")])
def test_bad_usernames_are_refused_with_the_reason(tenant, name, message):
    response = _create(tenant.admin.client, name)
    assert response.status_code == 400 and message in str(response.json())


def test_existing_members_keep_their_name_password_and_tokens_after_the_upgrade(tenant):
    """Migration 0002: members made with global usernames get their organisation's id in the stored name."""
    migration = importlib.import_module("voicegate.accounts.migrations.0002_member_usernames")
    from django.apps import apps

    legacy = get_user_model().objects.create_user("legacy-ann", password=PASSWORD_A)  # as before the upgrade
    Membership.objects.create(user=legacy, organisation=tenant.organisation, role=Role.PRODUCER)
    token = issue_api_token(legacy).raw
    migration.namespace_member_usernames(apps, None)
    migration.namespace_member_usernames(apps, None)  # idempotent
    legacy.refresh_from_db()
    assert legacy.get_username() == member_username(tenant.organisation.pk, "legacy-ann")
    assert member_name(legacy) == "legacy-ann" and authenticate_token(token).user == legacy
    client, response = _sign_in("/login/", "Acme Media", "legacy-ann", PASSWORD_A)
    assert response.status_code == 302 and _signed_in_as(client) == legacy
    migration.plain_member_usernames(apps, None)  # and back
    legacy.refresh_from_db()
    assert legacy.get_username() == "legacy-ann"


def test_demo_setup_prints_the_organisation_to_sign_in_with(db, settings, tmp_path, monkeypatch, capsys):
    import json

    import consent.demo

    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(consent.demo, "ensure_demo_voice", lambda org: None)  # the voice is not this test's subject
    call_command("demo_setup", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["organisation"] == "Demo Newsroom" and set(out["users"]) == {"demo-admin", "demo-producer",
                                                                            "demo-moderator"}
    password = out["users"]["demo-producer"]["password"]
    client, response = _sign_in("/login/", "Demo Newsroom", "demo-producer", password)
    assert response.status_code == 302 and member_name(_signed_in_as(client)) == "demo-producer"
    call_command("demo_setup")  # again, as `make run` does: nothing new, and the sign-in instructions
    assert "with the organisation 'Demo Newsroom' and:" in capsys.readouterr().out


def test_the_sign_in_page_asks_for_the_organisation_in_chinese_too(db):
    client = Client()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    page = client.get("/login/").content.decode()
    assert 'name="organisation"' in page and "组织" in page and "平台运维账号请留空" in page
    wrong = client.post("/login/", {"organisation": "x", "username": "y", "password": "z"}).content.decode()
    assert "组织、用户名和密码不匹配。请检查后重试。" in wrong
