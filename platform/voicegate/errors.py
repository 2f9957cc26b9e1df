"""Errors a person can act on, and how the API and the commands present them.

Services raise subclasses of :class:`DomainError` with a message written for the user
("reference audio is 8000 Hz; at least 16000 Hz is needed"). The API maps them to 4xx
(``status_code``) and the operator commands to a non-zero exit with ``{"error": ...}``.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


class UnsupportedMedia(DomainError):
    status_code = 415
    code = "unsupported_media"


def api_exception_handler(exc: Exception, context: dict):
    # DRF is imported here: this module is imported while DRF's own settings load.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.message, "code": exc.code}
        if exc.details:
            body["details"] = exc.details
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"error": "; ".join(exc.messages), "code": "invalid"}, status=400)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"]),
                         "code": getattr(response.data["detail"], "code", "error")}
    elif response is not None:
        response.data = {"error": "the request is not valid", "code": "invalid", "details": response.data}
    return response
