"""Shared pieces of the REST API: tenant scoping for views."""
from __future__ import annotations

from functools import cached_property

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
