from __future__ import annotations

from rest_framework import authentication, exceptions

from voicegate.errors import NotFound

from .lockout import client_address, record_token_failure, token_refusal
from .services import authenticate_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token vg_...`` (``Bearer`` is accepted too)."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("malformed Authorization header; use 'Token <key>'")
        address = client_address(request)
        refusal = token_refusal(address)
        if refusal:
            raise exceptions.Throttled(detail=refusal)
        try:
            token = authenticate_token(header[1])
        except NotFound as exc:
            record_token_failure(address)
            raise exceptions.AuthenticationFailed(exc.message) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("this user is deactivated")
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
