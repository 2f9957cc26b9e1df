"""Role-aware navigation, sign-in and the refusal pages people see."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.conftest import signed_in
from voicegate.audit.services import record_audit

pytestmark = pytest.mark.django_db


def nav_links(response) -> list[str]:
    html = response.content.decode()
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return [part.split('"', 1)[0] for part in nav.split('href="')[1:]]


def test_anonymous_visitor_is_sent_to_sign_in(browser_client):
    response = browser_client.get(reverse("web:audit"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_wrong_password_says_what_to_do(browser_client, tenant):
    response = browser_client.post(reverse("web:login"), {"organisation": tenant.organisation.name,
                                                          "username": tenant.producer.username,
                                                          "password": "wrong-password"})
    assert response.status_code == 200
    assert "do not match. Check them and try again" in response.content.decode()


def test_sign_in_lands_on_the_first_page_of_the_role(browser_client, tenant):
    response = browser_client.post(reverse("web:login"), {"organisation": tenant.organisation.slug,
                                                          "username": tenant.moderator.username,
                                                          "password": "correct-horse-9"}, follow=True)
    assert response.status_code == 200
    first = response.redirect_chain[-1][0]
    assert first in (reverse("web:moderation") if _has("web:moderation") else reverse("web:audit"),)


def _has(name: str) -> bool:
    try:
        reverse(name)
        return True
    except Exception:
        return False


def test_moderator_menu_has_no_producer_pages(tenant):
    links = nav_links(signed_in(tenant.moderator.user).get(reverse("web:audit")))
    assert reverse("web:audit") in links
    for producer_page in ("web:studio", "web:voices"):
        if _has(producer_page):
            assert reverse(producer_page) not in links


def test_admin_menu_has_every_page(tenant):
    links = nav_links(signed_in(tenant.admin.user).get(reverse("web:audit")))
    for name in ("web:studio", "web:voices", "web:moderation", "web:audit"):
        if _has(name):
            assert reverse(name) in links


def test_consent_dashboard_link_only_for_staff_admins(tenant):
    admin = tenant.admin.user
    assert reverse("admin:index") not in nav_links(signed_in(admin).get(reverse("web:audit")))
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    assert reverse("admin:index") in nav_links(signed_in(admin).get(reverse("web:audit")))


def test_producer_cannot_open_the_audit_log_and_is_told_why(tenant):
    response = signed_in(tenant.producer.user).get(reverse("web:audit"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "needs the moderator or admin role; your role is producer" in text
    assert "Ask your organisation" in text


def test_user_without_organisation_is_told_to_ask_an_admin(django_user_model):
    user = django_user_model.objects.create_user("loner", password="correct-horse-9")
    response = signed_in(user).get(reverse("web:audit"))
    assert response.status_code == 403
    assert "does not belong to an organisation" in response.content.decode()


def test_audit_log_lists_only_own_organisation_entries(tenant, other_tenant):
    record_audit("test.ours", actor=tenant.admin.user, organisation=tenant.organisation, details={"n": 1})
    record_audit("test.theirs", actor=other_tenant.admin.user, organisation=other_tenant.organisation)
    text = signed_in(tenant.moderator.user).get(reverse("web:audit")).content.decode()
    assert "test.ours" in text
    assert "test.theirs" not in text


def test_audit_log_filters_by_action_prefix_and_actor(tenant):
    record_audit("consent.granted", actor=tenant.admin.user, organisation=tenant.organisation)
    record_audit("synthesis.requested", actor=tenant.producer.user, organisation=tenant.organisation)
    client = signed_in(tenant.moderator.user)
    text = client.get(reverse("web:audit"), {"action": "consent."}).content.decode()
    assert "<code>consent.granted</code>" in text and "<code>synthesis.requested</code>" not in text
    text = client.get(reverse("web:audit"), {"actor": tenant.producer.username}).content.decode()
    assert "<code>synthesis.requested</code>" in text and "<code>consent.granted</code>" not in text


def test_audit_log_explains_bad_dates(tenant):
    client = signed_in(tenant.moderator.user)
    text = client.get(reverse("web:audit"), {"since": "yesterday"}).content.decode()
    assert "Enter the start date as YYYY-MM-DD." in text
    text = client.get(reverse("web:audit"), {"since": "2025-02-01", "until": "2025-01-01"}).content.decode()
    assert "The start date is after the end date" in text


def test_chain_status_reports_an_intact_chain(tenant):
    record_audit("test.one", organisation=tenant.organisation)
    response = signed_in(tenant.moderator.user).get(reverse("web:audit-chain"), HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert "Chain intact" in text and "<html" not in text


def test_chain_status_names_the_first_tampered_entry(tenant):
    from voicegate.audit.models import AuditEntry

    entry = record_audit("test.one", organisation=tenant.organisation, details={"amount": 1})
    record_audit("test.two", organisation=tenant.organisation)
    # Tamper underneath the ORM's append-only guard, as an attacker with database access would.
    from django.db import connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute("UPDATE audit_auditentry SET details = %s WHERE seq = %s", ['{"amount": 2}', entry.seq])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    assert AuditEntry.objects.count() >= 2
    text = signed_in(tenant.admin.user).get(reverse("web:audit-chain")).content.decode()
    assert "Chain broken" in text and f"#{entry.seq}" in text


def test_unknown_page_gives_a_helpful_not_found(tenant, settings):
    settings.DEBUG = False
    response = signed_in(tenant.producer.user).get("/no-such-page/")
    assert response.status_code == 404
    assert "belongs to another organisation" in response.content.decode()
