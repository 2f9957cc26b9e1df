"""Role-aware navigation for every page (a template context processor)."""
from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from voicegate.accounts.models import Role
from voicegate.accounts.selectors import membership_of

# (url name, label, roles that see it); admins see everything. Keep in step with the
# requires_role() of each page's view.
NAVIGATION = [
    ("web:studio", _("Studio"), {Role.PRODUCER}),
    ("web:voices", _("Voices & consent"), {Role.PRODUCER}),
    ("web:moderation", _("Moderation desk"), {Role.MODERATOR}),
    ("web:audit", _("Audit"), {Role.MODERATOR}),
]


def navigation(request):
    membership = membership_of(getattr(request, "user", None))
    if membership is None:
        return {"nav_items": [], "membership": None, "admin_url": None}
    items = []
    for name, label, roles in NAVIGATION:
        if membership.role == Role.ADMIN or membership.role in roles:
            try:
                url = reverse(name)
            except NoReverseMatch:  # a page not built yet stays out of the menu
                continue
            items.append({"url": url, "label": label, "active": request.path.startswith(url)})
    # The Django admin is the full consent dashboard; only staff accounts can sign in there.
    admin_url = reverse("admin:index") if membership.role == Role.ADMIN and request.user.is_staff else None
    from web.access import role_label

    return {"nav_items": items, "membership": membership, "admin_url": admin_url,
            "role_name": role_label(membership.role)}
