import io
import logging
import re
import time
import uuid
from urllib.parse import quote

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse

from core import request_context

logger = logging.getLogger("cvimprover.request")

# A caller's X-Request-ID is kept only when it is a short token of these characters: anything else (spaces,
# "=", line breaks, very long values) could forge fields or whole lines in the request log, so it gets a new id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The path is logged percent-encoded again (Django hands it over decoded), so a "%0A" or "%20user=1" in a URL
# stays one field; bounded, since a request line may be several kilobytes long.
_PATH_SAFE = "/:@!$&'()*+,;-._~"
_PATH_LOG_CHARS = 512


def request_id_for(header: str | None) -> str:
    """The caller's request id if it is a safe token, otherwise a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex[:16]


def loggable_path(path: str) -> str:
    """The path as one log field: no spaces, control characters or non-ASCII, at most _PATH_LOG_CHARS long."""
    encoded = quote(path, safe=_PATH_SAFE)
    return encoded if len(encoded) <= _PATH_LOG_CHARS else encoded[:_PATH_LOG_CHARS] + "..."


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, user id and a request id (never bodies,
    tokens or query strings, which may carry session ids). Every value the caller chose is escaped or
    replaced first, so a line always has exactly these fields."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        # Every log line of this request, and the tasks it queues, carry the id (core.request_context).
        bound = request_context.bind(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else "-"
            # Still bound: the request's own line carries its id like every other line of its story.
            logger.info(
                "request id=%s method=%s path=%s status=%s ms=%d user=%s",
                request_id,
                loggable_path(request.method),
                loggable_path(request.path),
                response.status_code,
                (time.monotonic() - started) * 1000,
                user_id,
            )
        finally:
            request_context.unbind(bound)
        response["X-Request-ID"] = request_id
        return response


class RequestSizeLimitMiddleware:
    """Refuse a request body over ``REQUEST_MAX_BODY_BYTES`` with 413 before it is read into memory or onto disk.

    Django would otherwise stream an uploaded file of any size to a temporary file before the view's 10 MB
    check sees it. A declared ``Content-Length`` over the limit is refused from the headers alone. A chunked
    body (no length; gunicorn decodes the chunks and marks the input ``wsgi.input_terminated``) is read here,
    counting bytes, and refused as soon as it passes the limit; under it, it is handed on as a body of known
    length, which Django needs to read it at all.
    """

    CHUNK = 64 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.REQUEST_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = 0
            if length > limit:
                return self._too_large(limit)
        elif self._is_chunked(request):
            body = self._read_chunked(request, limit)
            if body is None:
                return self._too_large(limit)
            # Django sized the stream from the (absent) Content-Length, i.e. empty; give it the body just read.
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
        return self.get_response(request)

    @staticmethod
    def _is_chunked(request) -> bool:
        return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and bool(
            request.META.get("wsgi.input_terminated")
        )

    def _read_chunked(self, request, limit: int) -> bytes | None:
        stream = request.META["wsgi.input"]
        buffer = io.BytesIO()
        received = 0
        while True:
            chunk = stream.read(min(self.CHUNK, limit + 1 - received))
            if not chunk:
                return buffer.getvalue()
            received += len(chunk)
            if received > limit:
                return None
            buffer.write(chunk)

    @staticmethod
    def _too_large(limit: int) -> JsonResponse:
        megabytes = limit / (1024 * 1024)
        response = JsonResponse(
            {
                "detail": f"The request is too large: the limit is {megabytes:g} MB (a CV may be up to "
                f"{settings.CV_MAX_UPLOAD_BYTES / (1024 * 1024):g} MB).",
                "code": "request_too_large",
                "max_bytes": limit,
            },
            status=413,
        )
        # No "Connection: close" header: WSGI forbids hop-by-hop headers from the application; gunicorn's sync
        # workers close every connection after its response, and its threaded ones drain at most a capped amount.
        return response
