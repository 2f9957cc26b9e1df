"""Errors a person can act on, and how the API and the commands present them.

Services raise subclasses of :class:`DomainError` with a message written for the user
("reference audio is 8000 Hz; at least 16000 Hz is needed"). The API maps them to 4xx
(``status_code``) and the operator commands to a non-zero exit with ``{"error": ...}``.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError

logger = logging.getLogger("voicegate.errors")

# Paths whose clients expect JSON, even for errors raised outside a DRF view.
JSON_PATH_PREFIXES = ("/api/", "/tts", "/healthz")


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


def error_body(message: str, code: str, request=None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code, **extra}
    request_id = getattr(request, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return body


def request_too_big_message() -> str:
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = f"{limit / 1e6:.0f} MB" if limit >= 1e6 else f"{limit / 1e3:.0f} kB"
    return (f"the request body is over {size} (not counting uploaded files); send audio as a multipart file "
            "upload, or a shorter body")


def unexpected_error_body(exc: BaseException, request) -> dict[str, Any]:
    """Log an exception nobody anticipated (with the request id) and say so without details."""
    request_id = getattr(request, "request_id", None) or "-"
    logger.error("unexpected error answering %s %s (request id %s)", getattr(request, "method", "?"),
                 getattr(request, "path", "?"), request_id, exc_info=exc)
    return error_body(f"an unexpected error occurred on our side; it was logged with request id {request_id}",
                      "server_error", request)


def api_exception_handler(exc: Exception, context: dict):
    # DRF is imported here: this module is imported while DRF's own settings load.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    request = context.get("request")
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.message, "code": exc.code}
        if exc.details:
            body["details"] = exc.details
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"error": "; ".join(exc.messages), "code": "invalid"}, status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response({"error": request_too_big_message(), "code": PayloadTooLarge.code}, status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response({"error": f"the request was refused: {exc}", "code": "bad_request"}, status=400)
    response = exception_handler(exc, context)
    if response is None:  # a bug, not the user's doing: JSON 500, logged with the request id
        return Response(unexpected_error_body(exc, request), status=500)
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"]),
                         "code": getattr(response.data["detail"], "code", "error")}
    else:
        response.data = {"error": "the request is not valid", "code": "invalid", "details": response.data}
    return response


def wants_json(request) -> bool:
    return request.path.startswith(JSON_PATH_PREFIXES)


def bad_request(request, exception=None):
    """handler400: JSON on API paths (413 for an oversized body); Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views import defaults

    if not wants_json(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body(request_too_big_message(), PayloadTooLarge.code, request), status=413)
    return JsonResponse(error_body("the request is not valid", "bad_request", request), status=400)


def server_error(request):
    """handler500: JSON on API paths; the site's 500 page elsewhere (the exception is logged by Django)."""
    from django.http import JsonResponse
    from django.views import defaults

    if not wants_json(request):
        return defaults.server_error(request)
    request_id = getattr(request, "request_id", None) or "-"
    return JsonResponse(error_body(f"an unexpected error occurred on our side; it was logged with request id "
                                   f"{request_id}", "server_error", request), status=500)
