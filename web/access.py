"""Who may open which page: role checks that answer with a page a person can act on.

The API's permission classes answer JSON; people get an HTML page saying which role the page
needs, which role they have and whom to ask. Admins pass every check, as in the API.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from voicegate.accounts.models import Membership, Role
from voicegate.accounts.selectors import membership_of


def role_label(role: str) -> str:
    return {Role.PRODUCER: _("producer"), Role.MODERATOR: _("moderator"), Role.ADMIN: _("admin")}.get(role, role)


def forbidden(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    return render(request, "web/forbidden.html", {"message": message}, status=status)


def allows(membership: Membership | None, roles: tuple[str, ...]) -> bool:
    return membership is not None and (membership.role == Role.ADMIN or membership.role in roles)


def requires_role(*roles: str, page: str) -> Callable:
    """Decorate a view: signed in, member of an organisation, and one of ``roles`` (or admin).

    ``page`` names the page in the refusal ("the moderation desk").
    """

    def decorate(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = membership_of(request.user)
            if membership is None:
                return forbidden(request, _("Your account does not belong to an organisation yet. "
                                            "Ask your organisation's admin to add you."))
            if not allows(membership, roles):
                needed = _(" or ").join(role_label(r) for r in dict.fromkeys((*roles, Role.ADMIN)))
                return forbidden(request, _("%(page)s needs the %(needed)s role; your role is %(role)s. "
                                            "Ask your organisation's admin if you need access.")
                                 % {"page": page, "needed": needed, "role": role_label(membership.role)})
            request.membership = membership
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
