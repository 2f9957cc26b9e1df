"""Every read and write is scoped to the caller's organisation; roles gate what each may do."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from voicegate.accounts.models import ApiToken, Membership
from voicegate.accounts.selectors import member_named
from voicegate.audit.models import AuditEntry


def test_me_reports_organisation_and_role(tenant):
    response = tenant.producer.client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["organisation"] == "Acme Media" and response.json()["role"] == "producer"


def test_requests_without_a_valid_token_are_refused(tenant):
    assert APIClient().get("/api/v1/me/").status_code in (401, 403)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token vg_not-a-real-token")
    response = bad.get("/api/v1/me/")
    assert response.status_code == 401 and "unknown API token" in response.json()["error"]


def test_revoked_token_stops_working(tenant):
    client = tenant.producer.client
    token = ApiToken.objects.filter(user=tenant.producer.user).first()
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert AuditEntry.objects.filter(action="api_token.revoked", target_id=str(token.pk)).exists()


def test_tokens_are_stored_hashed_and_shown_once(tenant):
    response = tenant.producer.client.post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201
    raw = response.json()["token"]
    assert raw.startswith("vg_")
    assert not ApiToken.objects.filter(key_hash=raw).exists()
    listed = tenant.producer.client.get("/api/v1/tokens/").json()["results"]
    assert all("token" not in row for row in listed)


@pytest.mark.parametrize("role,status", [("admin", 200), ("producer", 403), ("moderator", 403)])
def test_only_admins_manage_members(tenant, role, status):
    assert tenant.member(role).client.get("/api/v1/members/").status_code == status


@pytest.mark.parametrize("role,status", [("admin", 200), ("moderator", 200), ("producer", 403)])
def test_audit_is_for_admins_and_moderators(tenant, role, status):
    assert tenant.member(role).client.get("/api/v1/audit/").status_code == status


def test_admin_adds_member_and_it_is_audited(tenant):
    response = tenant.admin.client.post("/api/v1/members/", {"username": "newbie", "role": "producer",
                                                             "password": "a-long-password-1"}, format="json")
    assert response.status_code == 201, response.content
    assert member_named(tenant.organisation, "newbie").role == "producer"
    assert AuditEntry.objects.filter(action="member.added", details__username="newbie").exists()
    bad = tenant.admin.client.post("/api/v1/members/", {"username": "x", "role": "overlord"}, format="json")
    assert bad.status_code == 400 and member_named(tenant.organisation, "x") is None


def _add_producer(client, username: str):
    return client.post("/api/v1/members/", {"username": username, "role": "producer", "password": "a-long-password-1"},
                       format="json")


def test_an_admin_cannot_tell_that_another_organisation_has_a_username(tenant, other_tenant):
    """Usernames are unique per organisation: a name used elsewhere answers exactly as a free one."""
    taken_elsewhere = "rival-studio-producer"  # a member of the other organisation (tests.conftest)
    assert taken_elsewhere in [row["username"] for row in other_tenant.admin.client.get("/api/v1/members/").json()
                               ["results"]]
    elsewhere = _add_producer(tenant.admin.client, taken_elsewhere)
    free = _add_producer(tenant.admin.client, "nobody-has-this-name")
    assert elsewhere.status_code == free.status_code == 201, elsewhere.content
    assert elsewhere.json()["username"] == taken_elsewhere and free.json()["username"] == "nobody-has-this-name"
    ignored = ("id", "username", "created_at")
    assert {k: v for k, v in elsewhere.json().items() if k not in ignored} == \
        {k: v for k, v in free.json().items() if k not in ignored}
    ours = [row for row in tenant.admin.client.get("/api/v1/members/").json()["results"]
            if row["username"] == taken_elsewhere]
    theirs = [row for row in other_tenant.admin.client.get("/api/v1/members/").json()["results"]
              if row["username"] == taken_elsewhere]
    assert len(ours) == len(theirs) == 1 and ours[0]["id"] != theirs[0]["id"] and theirs[0]["role"] == "producer"
    # Only a second member of that name in the admin's own organisation is refused.
    again = _add_producer(tenant.admin.client, taken_elsewhere)
    assert again.status_code == 409 and "'Acme Media' already has, or had, a member named" in again.json()["error"]


# Every tenant-scoped endpoint: (list URL, how to get one of the tenant's object detail URLs).
def _member_detail(t):
    return f"/api/v1/members/{Membership.objects.get(user=t.producer.user).pk}/"


def _token_detail(t):
    return f"/api/v1/tokens/{ApiToken.objects.filter(user=t.admin.user).first().pk}/"


TENANT_ENDPOINTS = [
    ("/api/v1/members/", _member_detail, "admin"),
    ("/api/v1/tokens/", _token_detail, "admin"),
]


@pytest.mark.parametrize("list_url,detail_of,role", TENANT_ENDPOINTS)
def test_other_organisations_objects_answer_404_and_are_not_listed(tenant, other_tenant, list_url, detail_of, role):
    ours = tenant.member(role).client
    theirs_detail = detail_of(other_tenant)
    assert ours.get(theirs_detail).status_code == 404
    assert ours.patch(theirs_detail, {"role": "admin"}, format="json").status_code in (404, 405)
    assert ours.delete(theirs_detail).status_code in (404, 405)
    listed = ours.get(list_url).json()["results"]
    their_ids = {theirs_detail.rstrip("/").rsplit("/", 1)[1]}
    assert not their_ids & {str(row["id"]) for row in listed}


def test_audit_list_shows_only_own_organisation(tenant, other_tenant):
    rows = tenant.admin.client.get("/api/v1/audit/").json()["results"]
    assert rows and {row["organisation"] for row in rows} == {str(tenant.organisation.pk)}
