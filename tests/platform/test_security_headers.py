"""Security headers: a Content-Security-Policy with a per-request nonce, nosniff, HSTS behind HTTPS."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_pages_carry_a_nonce_policy_and_their_inline_scripts_carry_the_nonce(tenant):
    response = signed_in(tenant.producer.user).get("/studio/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    html = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attributes for attributes in inline)
    assert " on" not in "".join(re.findall(r"<[a-z]+\s[^>]*\bon[a-z]+=", html))  # no inline handlers
    assert signed_in(tenant.producer.user).get("/studio/")["Content-Security-Policy"] != policy  # fresh nonce


@pytest.mark.parametrize("path", ["/login/", "/api/v1/me/", "/static/web/app.css", "/healthz"])
def test_every_response_says_nosniff(tenant, path):
    response = Client().get(path)
    assert response["X-Content-Type-Options"] == "nosniff"


def test_hsts_is_sent_over_https_when_secure_cookies_are_on(settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000  # what SECURE_COOKIES=on sets
    assert Client().get("/login/", secure=True)["Strict-Transport-Security"] == "max-age=31536000"
    settings.SECURE_HSTS_SECONDS = 0  # the default (plain HTTP): no HSTS
    assert "Strict-Transport-Security" not in Client().get("/login/", secure=True)


def test_secure_cookies_setting_turns_hsts_on():
    import os
    import subprocess
    import sys

    env = {**os.environ, "SECURE_COOKIES": "on"}
    code = "import voicegate.settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd="platform",
                         check=True).stdout.split()
    assert out == ["31536000", "True"]
