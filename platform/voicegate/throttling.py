"""Per-user and per-organisation request throttles (rates in settings: THROTTLE_*)."""
from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from voicegate.accounts.selectors import membership_of


class UserRateThrottle(SimpleRateThrottle):
    scope = "api_user"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SynthesisUserThrottle(UserRateThrottle):
    """Generations per user (default 3/min, as the source articles suggest)."""

    scope = "synthesis_user"

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class SynthesisOrganisationThrottle(SynthesisUserThrottle):
    scope = "synthesis_org"

    def get_cache_key(self, request, view):
        membership = membership_of(request.user)
        if membership is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"org:{membership.organisation_id}"}


SYNTHESIS_THROTTLES = [SynthesisUserThrottle, SynthesisOrganisationThrottle]
