"""Request-wide middleware: a request id on every request and response."""
from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "X-Request-Id"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives each request an id (the client's X-Request-Id when it is sane, else a new one).

    The id is echoed in the response header and in unexpected-error bodies and logs, so a
    person reporting a 500 can quote it and an operator can find the traceback.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = offered if _CLIENT_REQUEST_ID.match(offered) else uuid.uuid4().hex
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


# Pages may run only this site's scripts and scripts carrying the request's nonce (the two small
# inline configuration blocks). Inline styles stay allowed: wavesurfer draws its waveform in a
# shadow root with its own <style>, and segment bars are positioned with style attributes.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
                           "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; "
                           "connect-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")
# The interactive API docs load Swagger UI as drf-spectacular ships it (inline bootstrap script).
CSP_EXEMPT_PREFIXES = ("/api/docs/",)


class ContentSecurityPolicyMiddleware:
    """A per-request nonce (``request.csp_nonce``) and the Content-Security-Policy header on every page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import secrets

        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if not request.path.startswith(CSP_EXEMPT_PREFIXES) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(nonce=request.csp_nonce)
        return response


class RequestBodyLimitMiddleware:
    """API bodies that are not file uploads are refused over DATA_UPLOAD_MAX_MEMORY_SIZE (JSON 413).

    Django enforces that limit on form fields only, and DRF's JSON parser reads any length, so a
    huge JSON body would otherwise be read into memory whole. Multipart uploads keep their own
    per-endpoint limits (VERIFY_MAX_BYTES, the consent upload limit).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.http import JsonResponse

        from voicegate.errors import error_body, request_too_big_message, wants_json

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if (limit is not None and length > limit and wants_json(request)
                and not request.content_type.startswith("multipart/")):
            return JsonResponse(error_body(request_too_big_message(), "too_large", request), status=413)
        return self.get_response(request)
