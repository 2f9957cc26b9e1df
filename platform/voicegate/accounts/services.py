"""Every write about organisations, members and tokens."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from voicegate.audit.services import record_audit
from voicegate.errors import Conflict, DomainError, NotFound

from .models import MEMBER_NAME_MAX_LENGTH, ApiToken, Membership, Organisation, Role, member_name, member_username

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
    if not name:
        raise DomainError("the organisation needs a name")
    if not (admin_username or "").strip():
        raise DomainError("the organisation needs an admin username")
    if len(name) > 200:
        raise DomainError("the organisation name is longer than 200 characters")
    admin_username = clean_member_name(admin_username)
    slug = slugify(name, allow_unicode=False) or f"org-{secrets.token_hex(4)}"
    with transaction.atomic():
        if Organisation.objects.filter(name=name).exists():
            raise Conflict(f"an organisation named {name!r} already exists")
        if Organisation.objects.filter(slug=slug).exists():
            slug = f"{slug}-{secrets.token_hex(3)}"
        try:
            org = Organisation.objects.create(name=name, slug=slug)
        except IntegrityError as exc:  # a concurrent create with the same name
            raise Conflict(f"an organisation named {name!r} already exists") from exc
        admin = _create_member_account(org, admin_username, admin_email, admin_password)
        Membership.objects.create(user=admin, organisation=org, role=Role.ADMIN)
        record_audit("organisation.created", actor=None, organisation=org, target=org,
                     details={"name": name, "admin": admin_username})
        issued = issue_api_token(admin, name="initial")
    return NewOrganisation(org, admin, issued, admin_password)


def clean_member_name(username: str) -> str:
    """A member's username as stored (stripped, NFKC-normalised like Django's), or DomainError saying what is wrong."""
    username = get_user_model().normalize_username((username or "").strip())
    if not username:
        raise DomainError("the member needs a username")
    if len(username) > MEMBER_NAME_MAX_LENGTH:
        raise DomainError(f"a username is at most {MEMBER_NAME_MAX_LENGTH} characters (this one has {len(username)})")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise DomainError(f"{username!r} is not a valid username: use letters, digits and @ . + - _ only") from None
    return username


def _create_member_account(organisation: Organisation, username: str, email: str, password: str | None):
    """The Django user behind member ``username`` of ``organisation`` (names are unique per organisation only)."""
    User = get_user_model()
    user = User(username=member_username(organisation.pk, username), email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password", "username"])  # the username is checked (and unique) per organisation
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # added at the same moment by someone else
        raise _name_taken(organisation, username) from None
    return user


def assert_member_name_free(organisation: Organisation, username: str) -> None:
    """Conflict when a member of ``organisation`` has the name, or had it (removed members keep their account
    and its audit trail). Only this organisation's names count: another's may be the same."""
    if get_user_model().objects.filter(username=member_username(organisation.pk, username)).exists():
        raise _name_taken(organisation, username)


def _name_taken(organisation: Organisation, username: str) -> Conflict:
    return Conflict(f"{organisation.name!r} already has, or had, a member named {username!r}: choose another username")


def add_member(organisation: Organisation, username: str, role: str, *, actor=None,
               password: str | None = None, email: str = "") -> Membership:
    """Add a member to ``organisation``. Only its own members' names can clash: another organisation's
    member of the same name is a different account, so the answer never says that name exists elsewhere."""
    if role not in Role.values:
        raise DomainError(f"role {role!r} is not one of: {', '.join(Role.values)}")
    username = clean_member_name(username)
    with transaction.atomic():
        assert_member_name_free(organisation, username)
        user = _create_member_account(organisation, username, email, password)
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
        raise LastAdmin(f"{membership.username!r} is the only admin of {membership.organisation.name!r} "
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
                     details={"name": token.name, "prefix": token.prefix, "user": member_name(user)})
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
