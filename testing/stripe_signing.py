"""Sign webhook payloads with Stripe's real scheme, so tests exercise our signature check end to end."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any


def stripe_signature_header(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """`Stripe-Signature` value: t=<unix time>,v1=hex(HMAC-SHA256(secret, "<t>.<payload>"))."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed_event_body(event: dict[str, Any], secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """The JSON body Stripe would post for `event` and the matching signature header."""
    body = json.dumps(event).encode("utf-8")
    return body, stripe_signature_header(body, secret, timestamp=timestamp)
