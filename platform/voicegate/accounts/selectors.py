from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from voicegate.errors import PermissionDenied

from .models import ApiToken, Membership, Organisation, member_username


def membership_of(user) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def organisation_of(user) -> Organisation:
    """The caller's organisation; every tenant-scoped read starts here."""
    membership = membership_of(user)
    if membership is None:
        raise PermissionDenied("you do not belong to an organisation")
    return membership.organisation


def role_of(user) -> str | None:
    membership = membership_of(user)
    return membership.role if membership else None


def members(organisation: Organisation) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=organisation).select_related("user")


def tokens_of(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def member_named(organisation: Organisation, username: str) -> Membership | None:
    """The member of ``organisation`` called ``username`` (names are unique per organisation only)."""
    return (Membership.objects.filter(organisation=organisation, user__username=member_username(organisation.pk,
                                                                                                username))
            .select_related("user", "organisation").first())


def organisation_named(reference: str) -> Organisation | None:
    """The organisation someone signing in means: its short name (slug) or its name, in any letter case."""
    reference = (reference or "").strip()
    if not reference:
        return None
    return (Organisation.objects.filter(slug__iexact=reference).first()
            or Organisation.objects.filter(name__iexact=reference).first())


def sign_in_account(organisation: str, username: str):
    """The account named at sign-in by an organisation (as typed) and a username, or None.

    No organisation names a platform account: one that belongs to no organisation (an operator made
    with ``createsuperuser``). A member is found only in the organisation typed.
    """
    if not (organisation or "").strip():
        return get_user_model().objects.filter(username=username, membership__isnull=True).first()
    found = organisation_named(organisation)
    membership = member_named(found, username) if found is not None else None
    return membership.user if membership is not None else None
