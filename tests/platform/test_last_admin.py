"""An organisation always keeps an admin: the last one cannot be demoted or removed, by any interface."""
from __future__ import annotations

import pytest
from django.test import Client

from voicegate.accounts.models import Membership, Role
from voicegate.accounts.services import add_member, change_role
from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def _membership(member) -> Membership:
    return Membership.objects.get(user=member.user)


@pytest.mark.parametrize("method,data", [("patch", {"role": "producer"}), ("delete", None)])
def test_the_sole_admin_cannot_demote_or_remove_themselves_through_the_api(tenant, method, data):
    url = f"/api/v1/members/{_membership(tenant.admin).pk}/"
    response = getattr(tenant.admin.client, method)(url, data, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "last_admin"
    error = response.json()["error"]
    assert "only admin of 'Acme Media'" in error and "another member an admin" in error
    assert _membership(tenant.admin).role == Role.ADMIN


def test_with_a_second_admin_one_can_step_down_and_members_can_be_removed(tenant):
    second = add_member(tenant.organisation, "second-admin", Role.ADMIN, actor=tenant.admin.user)
    own = f"/api/v1/members/{_membership(tenant.admin).pk}/"
    assert tenant.admin.client.patch(own, {"role": "producer"}, format="json").status_code == 200
    assert _membership(tenant.admin).role == Role.PRODUCER
    with pytest.raises(Exception, match="only admin"):
        change_role(second, Role.MODERATOR, actor=second.user)  # now the last one
    producer = _membership(tenant.producer)
    client = Client()
    client.force_login(second.user)
    assert client.delete(f"/api/v1/members/{producer.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=producer.pk).exists()
    assert AuditEntry.objects.filter(action="member.removed", target_id=str(tenant.producer.user.pk)).exists()


def test_django_admin_refuses_to_demote_or_delete_the_last_admin(tenant, dashboard):
    membership = _membership(tenant.admin)
    page = dashboard.post(f"/admin/accounts/membership/{membership.pk}/change/",
                          {"user": tenant.admin.user.pk, "organisation": tenant.organisation.pk, "role": "producer"})
    assert page.status_code == 200 and "would be left without an admin" in page.content.decode()
    assert dashboard.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = dashboard.post("/admin/accounts/membership/", {"action": "delete_selected", "post": "yes",
                                                           "_selected_action": [membership.pk]})
    assert bulk.status_code == 403
    assert dashboard.post(f"/admin/auth/user/{tenant.admin.user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert _membership(tenant.admin).role == Role.ADMIN


def test_django_admin_organisation_page_keeps_an_admin(tenant, dashboard):
    org = tenant.organisation
    rows = list(Membership.objects.filter(organisation=org).order_by("pk"))
    data = {"name": org.name, "slug": org.slug, "memberships-TOTAL_FORMS": len(rows),
            "memberships-INITIAL_FORMS": len(rows), "memberships-MIN_NUM_FORMS": 0, "memberships-MAX_NUM_FORMS": 1000}
    for number, row in enumerate(rows):
        data |= {f"memberships-{number}-id": row.pk, f"memberships-{number}-organisation": org.pk,
                 f"memberships-{number}-user": row.user_id, f"memberships-{number}-role": "producer"}
    page = dashboard.post(f"/admin/accounts/organisation/{org.pk}/change/", data)
    assert page.status_code == 200 and "would be left without an admin" in page.content.decode()
    assert _membership(tenant.admin).role == Role.ADMIN
