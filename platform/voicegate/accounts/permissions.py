"""Role checks for the API. Admins may do everything a producer or moderator may."""
from __future__ import annotations

from rest_framework.permissions import BasePermission

from .models import Role
from .selectors import membership_of


class IsOrganisationMember(BasePermission):
    message = "you must belong to an organisation to use the API"
    allowed_roles: tuple[str, ...] = (Role.PRODUCER, Role.MODERATOR, Role.ADMIN)

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        membership = membership_of(request.user)
        if membership is None:
            return False
        return membership.role in self.allowed_roles or membership.role == Role.ADMIN


class IsProducer(IsOrganisationMember):
    message = "this needs the producer or admin role"
    allowed_roles = (Role.PRODUCER,)


class IsModerator(IsOrganisationMember):
    message = "this needs the moderator or admin role"
    allowed_roles = (Role.MODERATOR,)


class IsModeratorOrProducer(IsOrganisationMember):
    message = "this needs the producer, moderator or admin role"
    allowed_roles = (Role.PRODUCER, Role.MODERATOR)


class IsOrgAdmin(IsOrganisationMember):
    message = "this needs the admin role"
    allowed_roles = ()
