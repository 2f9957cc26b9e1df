from __future__ import annotations

from django.db.models import QuerySet

from voicegate.errors import PermissionDenied

from .models import ApiToken, Membership, Organisation


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
