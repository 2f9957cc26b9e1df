from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def browser_client():
    """A Django test client speaking English (the UI's strings are asserted in English)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The tenant fixture sets three passwords; PBKDF2 would spend a second on each test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
