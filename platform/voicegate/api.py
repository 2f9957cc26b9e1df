"""Shared pieces of the REST API: tenant scoping for views, bounded pagination."""
from __future__ import annotations

from functools import cached_property

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination

from voicegate.accounts.models import Organisation
from voicegate.accounts.selectors import organisation_of


class OrganisationScoped:
    """Mixin for views whose objects belong to an organisation.

    Subclasses implement ``scoped_queryset(organisation)``; ``get_queryset`` never returns
    another organisation's rows, so their ids answer 404 through DRF's ``get_object``.
    """

    @cached_property
    def organisation(self) -> Organisation:
        return organisation_of(self.request.user)

    def scoped_queryset(self, organisation: Organisation):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return self.scoped_queryset(None).none()
        return self.scoped_queryset(self.organisation)


MAX_OFFSET = 1_000_000_000  # far past any real list, far below the database's 64-bit limit


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=&offset=`` on every list, validated: a bad or out-of-range value is a 400 with a message.

    ``limit`` is 1 to ``API_MAX_PAGE_SIZE`` (default 200; ``PAGE_SIZE`` rows when absent) and
    ``offset`` is 0 to 1,000,000,000, so no value reaches the database as an out-of-range integer
    and no request can ask for every row at once.
    """

    @property
    def max_limit(self) -> int:
        return int(settings.API_MAX_PAGE_SIZE)

    def get_limit(self, request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        return _bounded_int(self.limit_query_param, raw, 1, self.max_limit)

    def get_offset(self, request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        return _bounded_int(self.offset_query_param, raw, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, MAX_OFFSET)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"] = {**parameter["schema"], "minimum": low, "maximum": high}
        return parameters


def _bounded_int(name: str, raw: str, low: int, high: int) -> int:
    from voicegate.errors import DomainError

    text = raw.strip()
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise DomainError(f"{name} must be a whole number from {low} to {high:,}", details={name: raw[:40]})
    value = int(text) if len(digits) <= 20 else (high + 1 if text[0] != "-" else low - 1)
    if value < low:
        raise DomainError(f"{name} must be at least {low}", details={name: raw[:40]})
    if value > high:
        what = "the largest page size" if name == "limit" else "the largest offset"
        raise DomainError(f"{name} is over {what} ({high:,})", details={name: raw[:40]})
    return value
