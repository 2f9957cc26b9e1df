"""Sign-in with an organisation, a username and a password (usernames are unique per organisation)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from .selectors import sign_in_account


class OrganisationMemberBackend(ModelBackend):
    """Django's model backend (permissions, sessions), looking accounts up by organisation and username.

    The sign-in forms (voicegate.accounts.forms) always pass ``organisation``: "" for a platform
    account, which belongs to no organisation. A call without it authenticates nobody, so no
    account can be signed in to by its internal Django username.
    """

    def authenticate(self, request, username=None, password=None, organisation=None, **kwargs):
        if organisation is None or username is None or password is None:
            return None
        user = sign_in_account(organisation, username)
        if user is None:
            get_user_model()().set_password(password)  # as slow as a real check: no timing difference
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
