"""Fixtures shared by the whole suite.

The database, the broker and the object store are real: PostgreSQL/Redis when
DATABASE_URL/CELERY_BROKER_URL point at them (CI), SQLite otherwise; S3 is moto's HTTP server.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from voicegate.accounts.models import Role, member_name
from voicegate.accounts.services import add_member, create_organisation, issue_api_token


@pytest.fixture(autouse=True)
def _jobs_inline_and_fresh_throttles(settings, tmp_path_factory):
    # Jobs run inline so a test sees their result; the real-worker test opts back in.
    settings.JOBS_IN_PROCESS = "eager"
    settings.CELERY_BROKER_URL = None
    # Granting a consent would start a real enrollment (minutes of style search) in every test that
    # grants one; the tests of that behaviour turn it back on.
    settings.SYNTHESIS_ENROLL_ON_CONSENT = False
    # Each test gets its own storage space: a temporary folder (never the developer's
    # var/media), or its own key prefix in the S3 bucket, so what one test stores is invisible
    # to the next.
    if settings.STORAGE_BACKEND == "local":
        media = tmp_path_factory.mktemp("media")
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(media)}}}
        settings.MEDIA_ROOT = str(media)
    else:
        default = settings.STORAGES["default"]
        settings.STORAGES = {**settings.STORAGES, "default": {
            **default, "OPTIONS": {**default["OPTIONS"], "location": f"tests/{uuid.uuid4().hex}"}}}
    cache.clear()
    yield
    cache.clear()


@dataclass
class Member:
    user: object
    token: str
    client: APIClient
    role: str

    @property
    def username(self) -> str:
        """The name the member signs in with and the platform shows (unique within its organisation)."""
        return member_name(self.user)


@dataclass
class Tenant:
    organisation: object
    admin: Member
    producer: Member
    moderator: Member

    def member(self, role: str) -> Member:
        return {"admin": self.admin, "producer": self.producer, "moderator": self.moderator}[role]


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def make_tenant(name: str) -> Tenant:
    created = create_organisation(name, f"{name.lower().replace(' ', '-')}-admin")
    org = created.organisation
    admin = Member(created.admin, created.api_token.raw, _client(created.api_token.raw), Role.ADMIN)
    members = {}
    for role in (Role.PRODUCER, Role.MODERATOR):
        membership = add_member(org, f"{org.slug}-{role}", role, actor=created.admin, password="correct-horse-9")
        raw = issue_api_token(membership.user).raw
        members[role] = Member(membership.user, raw, _client(raw), role)
    return Tenant(org, admin, members[Role.PRODUCER], members[Role.MODERATOR])


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Acme Media")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Rival Studio")


@pytest.fixture
def dashboard(tenant):
    """The tenant's admin signed in to the Django admin as a superuser."""
    from django.test import Client

    user = tenant.admin.user
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3 API over HTTP: CI's moto server when S3_ENDPOINT_URL is set, else our own."""
    endpoint = os.environ.get("S3_ENDPOINT_URL")
    if endpoint:
        yield endpoint
        return
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
