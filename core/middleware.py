import logging
import time
import uuid

logger = logging.getLogger("cvimprover.request")


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, user id and a request id (never bodies,
    tokens or query strings, which may carry session ids)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex[:16]
        request.request_id = request_id
        started = time.monotonic()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else "-"
        logger.info(
            "request id=%s method=%s path=%s status=%s ms=%d user=%s",
            request_id,
            request.method,
            request.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            user_id,
        )
        response["X-Request-ID"] = request_id
        return response
