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
