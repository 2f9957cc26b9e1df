"""Every write about organisations, members and tokens."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from voicegate.audit.services import record_audit
from voicegate.errors import Conflict, DomainError, NotFound

from .models import ApiToken, Membership, Organisation, Role

TOKEN_PREFIX = "vg_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


@dataclass(frozen=True)
class NewOrganisation:
    organisation: Organisation
    admin: AbstractBaseUser
    api_token: IssuedToken
    password: str | None


def create_organisation(name: str, admin_username: str, *, admin_password: str | None = None,
                        admin_email: str = "") -> NewOrganisation:
    name = (name or "").strip()
    admin_username = (admin_username or "").strip()
    if not name:
        raise DomainError("the organisation needs a name")
    if not admin_username:
        raise DomainError("the organisation needs an admin username")
    if len(name) > 200:
        raise DomainError("the organisation name is longer than 200 characters")
    slug = slugify(name, allow_unicode=False) or f"org-{secrets.token_hex(4)}"
    User = get_user_model()
    with transaction.atomic():
        if Organisation.objects.filter(name=name).exists():
            raise Conflict(f"an organisation named {name!r} already exists")
        if User.objects.filter(username=admin_username).exists():
            raise Conflict(f"a user named {admin_username!r} already exists")
        if Organisation.objects.filter(slug=slug).exists():
            slug = f"{slug}-{secrets.token_hex(3)}"
        try:
            org = Organisation.objects.create(name=name, slug=slug)
        except IntegrityError as exc:  # a concurrent create with the same name
            raise Conflict(f"an organisation named {name!r} already exists") from exc
        admin, password = _create_user(admin_username, admin_email, admin_password)
        Membership.objects.create(user=admin, organisation=org, role=Role.ADMIN)
        record_audit("organisation.created", actor=None, organisation=org, target=org,
                     details={"name": name, "admin": admin_username})
        issued = issue_api_token(admin, name="initial")
    return NewOrganisation(org, admin, issued, password)


def _create_user(username: str, email: str, password: str | None):
    User = get_user_model()
    user = User(username=username, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user, password


def add_member(organisation: Organisation, username: str, role: str, *, actor=None,
               password: str | None = None, email: str = "") -> Membership:
    if role not in Role.values:
        raise DomainError(f"role {role!r} is not one of: {', '.join(Role.values)}")
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"a user named {username!r} already exists")
        user, _ = _create_user(username, email, password)
        membership = Membership.objects.create(user=user, organisation=organisation, role=role)
        record_audit("member.added", actor=actor, organisation=organisation, target=user,
                     details={"username": username, "role": role})
    return membership


class LastAdmin(Conflict):
    code = "last_admin"


def _lock_organisation(organisation_id) -> None:
    # Admin changes of one organisation are serialised on its row, so two admins demoting each
    # other at once cannot both succeed (and do not deadlock on each other's membership rows).
    Organisation.objects.select_for_update().filter(pk=organisation_id).first()


def assert_keeps_an_admin(membership: Membership, action: str) -> None:
    """LastAdmin (409) when ``membership`` is its organisation's only admin; call inside the change's transaction."""
    if membership.role != Role.ADMIN:
        return
    if not Membership.objects.filter(organisation_id=membership.organisation_id, role=Role.ADMIN) \
            .exclude(pk=membership.pk).exists():
        raise LastAdmin(f"{membership.user.get_username()!r} is the only admin of {membership.organisation.name!r} "
                        f"and cannot be {action}: make another member an admin first")


def change_role(membership: Membership, role: str, *, actor) -> Membership:
    if role not in Role.values:
        raise DomainError(f"role {role!r} is not one of: {', '.join(Role.values)}")
    with transaction.atomic():
        _lock_organisation(membership.organisation_id)
        membership.refresh_from_db(fields=["role"])
        old = membership.role
        if role != Role.ADMIN:
            assert_keeps_an_admin(membership, f"made {role}")
        membership.role = role
        membership.save(update_fields=["role"])
        record_audit("member.role_changed", actor=actor, organisation=membership.organisation,
                     target=membership.user, details={"from": old, "to": role})
    return membership


def remove_member(membership: Membership, *, actor) -> None:
    """Take a member out of the organisation (the membership goes; the user record stays, without access)."""
    with transaction.atomic():
        _lock_organisation(membership.organisation_id)
        membership.refresh_from_db(fields=["role"])
        assert_keeps_an_admin(membership, "removed")
        record_audit("member.removed", actor=actor, organisation=membership.organisation, target=membership.user,
                     details={"role": membership.role})
        membership.delete()


def remaining_admins(organisation: Organisation, *, without: set[int]) -> int:
    """How many admins the organisation keeps if the memberships ``without`` stop being admins."""
    return Membership.objects.filter(organisation=organisation, role=Role.ADMIN).exclude(pk__in=without).count()


def issue_api_token(user, *, name: str = "default", actor=None) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100] or "default",
                                        prefix=raw[:12], key_hash=hash_token(raw))
        organisation = getattr(getattr(user, "membership", None), "organisation", None)
        record_audit("api_token.issued", actor=actor or user, organisation=organisation, target=token,
                     details={"name": token.name, "prefix": token.prefix, "user": user.get_username()})
    return IssuedToken(token, raw)


def revoke_api_token(token: ApiToken, *, actor) -> ApiToken:
    if token.revoked_at is not None:
        raise Conflict("this token is already revoked")
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        organisation = getattr(getattr(token.user, "membership", None), "organisation", None)
        record_audit("api_token.revoked", actor=actor, organisation=organisation, target=token,
                     details={"prefix": token.prefix})
    return token


def authenticate_token(raw: str) -> ApiToken:
    try:
        token = ApiToken.objects.select_related("user", "user__membership__organisation").get(
            key_hash=hash_token(raw.strip()))
    except ApiToken.DoesNotExist:
        raise NotFound("unknown API token") from None
    if token.revoked_at is not None:
        raise NotFound("this API token was revoked")
    now = timezone.now()
    # Write last-use at most once a minute: tokens are checked on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
