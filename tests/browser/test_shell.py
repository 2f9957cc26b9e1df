"""Sign-in, role-aware menu, keyboard access, phone layout, language switch and the audit page."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, screenshot
from voicegate.audit.services import record_audit


def test_sign_in_with_wrong_then_right_password(new_page, tenant):
    page = new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    page.get_by_label("Organisation").fill(tenant.organisation.name)
    page.get_by_label("Username").fill(tenant.moderator.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Check them and try again")
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit")).to_be_visible()
    expect(nav.get_by_role("link", name="Studio")).to_have_count(0)


def test_skip_link_is_the_first_tab_stop_and_focus_is_visible(new_page, tenant):
    page = new_page(tenant.moderator.user)
    page.goto("/audit/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_audit_log_shows_chain_status_and_filters(new_page, tenant):
    for i in range(3):
        record_audit("consent.granted", actor=tenant.admin.user, organisation=tenant.organisation,
                     target=("consent.consentrecord", f"c-{i}"), details={"languages": ["zh", "en"]})
    record_audit("synthesis.requested", actor=tenant.producer.user, organisation=tenant.organisation)
    page = new_page(tenant.moderator.user)
    page.goto("/audit/")
    expect(page.locator("#chain-status")).to_contain_text("Chain intact")
    screenshot(page, "audit")
    page.get_by_label("Action").fill("synthesis.")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    expect(page.locator("table.audit")).to_contain_text("synthesis.requested")


def test_audit_page_on_a_phone(new_page, tenant):
    record_audit("consent.granted", actor=tenant.admin.user, organisation=tenant.organisation,
                 target=("consent.consentrecord", "c-1"))
    page = new_page(tenant.admin.user, viewport=PHONE)
    page.goto("/audit/")
    expect(page.locator("#chain-status")).to_contain_text("Chain intact")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "audit-phone")


def test_producer_opening_the_audit_log_sees_why_not(new_page, tenant):
    page = new_page(tenant.producer.user)
    response = page.goto("/audit/")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("your role is producer")
    screenshot(page, "forbidden")


def test_language_switcher_turns_the_page_chinese(new_page, tenant):
    record_audit("consent.granted", actor=tenant.admin.user, organisation=tenant.organisation)
    page = new_page(tenant.moderator.user)
    page.goto("/moderation/")
    page.get_by_label("Interface language").select_option("zh-hans")
    expect(page.get_by_role("heading", name="审核台", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="审计")).to_be_visible()
    screenshot(page, "moderation-zh")


def test_pages_run_under_a_content_security_policy_that_blocks_injected_scripts(new_page, tenant):
    page = new_page(tenant.producer.user)
    response = page.goto("/studio/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "object-src 'none'" in policy
    # The studio's own scripts (nonce'd configuration, static files) ran: the page works ...
    assert page.evaluate("typeof window.VG_STUDIO") == "object"
    # ... and a script injected without the nonce does not run.
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';
                             document.head.appendChild(s); }""")
    assert page.evaluate("typeof window.injected") == "undefined"
    refused = [error for error in new_page.errors if error.startswith("CSP:")]
    assert refused and "script-src" in refused[0]
    new_page.errors.clear()  # the one refusal this test provoked


def test_the_language_switcher_works_without_inline_handlers(new_page, tenant):
    page = new_page(tenant.moderator.user)
    page.goto("/audit/")
    page.get_by_label("Interface language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
