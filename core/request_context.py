"""The request id of the story being told: set by the request-log middleware for a request, carried in a
Celery task's headers to the worker (cvimprover.celery), read by the log filter and by the model call. And
the job being run (``core.jobs.run_claimed`` binds it), to which a model call's cost is charged (core.costs).

Context variables, so each request or task sees its own, threads and all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_job: ContextVar[Any] = ContextVar("job", default=None)

# The name of the Celery message header that carries it (a name of our own: Celery's are bare words).
TASK_HEADER = "cvimprover_request_id"


def current_request_id() -> str | None:
    return _request_id.get()


def bind(request_id: str | None) -> Token:
    """Make ``request_id`` the current one; give the token to ``unbind`` when the request or task ends."""
    return _request_id.set(request_id)


def unbind(token: Token) -> None:
    _request_id.reset(token)


def current_job() -> Any:
    """The job row being run in this context, or None."""
    return _job.get()


@contextmanager
def running(job: Any) -> Iterator[None]:
    token = _job.set(job)
    try:
        yield
    finally:
        _job.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every log record ``request_id`` (``-`` outside a request or task) and ``request_suffix``
    (`` request_id=<id>``, or nothing), for the line and JSON formats of settings.LOGGING."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        record.request_id = request_id or "-"
        record.request_suffix = f" request_id={request_id}" if request_id else ""
        return True


class JSONLineFormatter(JsonFormatter):
    """LOG_FORMAT=json: one object per line with time, level, logger, message and request_id, and any other
    ``extra`` a line was given, except the line format's suffix and Celery's ``data`` (a task's arguments,
    which may hold an email address: the plain line never showed them either)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request_suffix", "data"])
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)
