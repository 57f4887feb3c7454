"""Error reports to Sentry, only when SENTRY_DSN is set (cvimprover.settings imports this module then and
only then: without a DSN the SDK is never imported).

Django, Celery and logging integrations (an ERROR log line becomes an event, INFO lines its breadcrumbs), and
nothing the SDK would find by itself. No personal data: ``send_default_pii`` off, no request bodies, no
local variables of the crashed frames (a CV's text lives in them), and ``strip_event`` removes what is left
that could carry a CV or a person: the request's body, cookies, query string and credentials, a user's
fields other than the id, and extra data.
"""

from __future__ import annotations

import logging

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.types import Event, Hint

# Request headers an event keeps; any other header (Authorization, Cookie, Stripe-Signature) is dropped.
_KEPT_HEADERS = frozenset({"content-type", "content-length", "user-agent", "x-request-id", "accept", "host"})


def strip_event(event: Event, hint: Hint) -> Event:
    """before_send: the event without anything that may hold a CV's text or a person's details."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    event.pop("extra", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    return event


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        auto_enabling_integrations=False,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        before_send=strip_event,
    )
