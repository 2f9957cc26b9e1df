"""Tenancy: organisations, their members' roles, and hashed per-user API tokens.

Usernames are unique per organisation, not across the platform: "ann" may be a member of any
number of organisations, and nothing one organisation can do tells it that a name is used in
another. Django's ``User.username`` must be unique platform-wide, so a member's account stores
its name with its organisation's id (``member_username``: ``ann@<32 hex digits>``); people see and
type only the name (``member_name``), and sign in with their organisation, username and password
(voicegate.accounts.backends). Accounts outside any organisation (platform operators made with
``createsuperuser``) keep a plain username and sign in with no organisation.
"""
from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Per-organisation switch for the audible "AI-generated" cue at the start of outputs.
    audible_label_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


_MEMBER_SUFFIX = re.compile(r"@[0-9a-f]{32}\Z")
# Django's usernames are at most 150 characters; a member's carries "@" and the organisation's 32 hex digits.
MEMBER_NAME_MAX_LENGTH = 150 - 33


def member_username(organisation_id, name: str) -> str:
    """The Django username of the member called ``name`` in the organisation ``organisation_id``."""
    return f"{name}@{uuid.UUID(str(organisation_id)).hex}"


def member_name(user) -> str:
    """The name people see and type for ``user``: its username without the organisation part."""
    return _MEMBER_SUFFIX.sub("", user.get_username())


class Role(models.TextChoices):
    PRODUCER = "producer", "Producer"
    MODERATOR = "moderator", "Moderator"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    """A user's place in exactly one organisation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.username} ({self.role} of {self.organisation})"

    @property
    def username(self) -> str:
        """The member's name in its organisation (unique there, and only there)."""
        return member_name(self.user)


class ApiToken(models.Model):
    """An API token. Only the SHA-256 of the secret is stored; the secret is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12, help_text="First characters of the token, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}, {self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
