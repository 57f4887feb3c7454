"""Domain errors and the one DRF exception handler that turns every error into the shapes of docs/api.md.

Field errors stay `{"field": ["message"]}`; everything else is `{"detail": "message", "code": "machine_code"}`,
plus whatever extra keys a domain error carries (a quota error adds its limit and reset time).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. Subclasses set the HTTP status and machine code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code: str = "invalid"
    default_detail: str = "The request could not be completed."

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.default_detail
        self.code = code or self.default_code
        self.extra = extra
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "This service is temporarily unavailable."


class QuotaExceeded(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "quota_exceeded"


def _codes_of(exc: drf_exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _is_backend_outage(exc: Exception) -> bool:
    """Redis, the broker or PostgreSQL could not be reached (or gave up: a restart, a lost connection)."""
    import kombu.exceptions
    import redis
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, redis.RedisError | kombu.exceptions.OperationalError | OperationalError | InterfaceError)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if _is_backend_outage(exc):
        # A backend failed where no code expected it (see core.redis_safety): the service's own transaction
        # has rolled back, so the request did nothing, and that is a 503, never a 500. Django reconnects to
        # PostgreSQL on the next request (CONN_HEALTH_CHECKS), redis-py and kombu on the next call.
        logger.warning("backend unavailable during %s: %s", context.get("view").__class__.__name__, type(exc).__name__)
        return Response(ServiceUnavailable().as_dict(), status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    # Imported here: rest_framework.views loads the throttle classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        if isinstance(response.data, list):
            response.data = {"non_field_errors": response.data}
        return response
    # DRF answers only APIExceptions (the Django ones are converted above), so exc is one here.
    if isinstance(exc, drf_exceptions.APIException) and isinstance(response.data, dict) and "detail" in response.data:
        response.data["code"] = _codes_of(exc)
        # The stubs omit Throttled.wait, which DRF sets in __init__.
        wait = exc.wait if isinstance(exc, drf_exceptions.Throttled) else None  # type: ignore[attr-defined]
        if wait is not None:
            response.data["retry_after_seconds"] = int(wait)
    return response
