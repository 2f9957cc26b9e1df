"""The sign-in forms of the web UI and the Django admin: organisation, username, password, and the lockout."""
from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .lockout import client_address, login_refusal


class SignInForm(AuthenticationForm):
    """The web UI's sign-in form. While sign-in is blocked it says so (not "wrong password")."""

    organisation = forms.CharField(
        label=_("Organisation"), max_length=200, required=False,
        help_text=_("Its name or short name. Leave it empty for a platform operator account."))
    field_order = ["organisation", "username", "password"]

    def clean(self):
        organisation = self.cleaned_data.get("organisation") or ""
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        refusal = login_refusal(organisation, username or "", client_address(self.request))
        if refusal:
            raise forms.ValidationError(refusal, code="locked_out")
        if username is not None and password:
            self.user_cache = authenticate(self.request, organisation=organisation, username=username,
                                           password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminSignInForm(SignInForm, AdminAuthenticationForm):
    """The Django admin's sign-in form (staff accounts only)."""
