"""Values and functions the core tests share (fixtures stay in conftest.py): signed webhook posts and
processing stored events the way the worker does."""

import time

from rest_framework.test import APIClient

from testing.stripe_signing import signed_event_body

WEBHOOK_SECRET = "whsec_test_fake_webhook_secret"
WEBHOOK_URL = "/core/payments/webhook/stripe/"


def post_webhook(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, client=None):
    body, header = signed_event_body(event, secret, timestamp=timestamp)
    client = client or APIClient()
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def process_stored_events() -> list:
    """Run processing for every stored event, the way the task would, in the order they were received."""
    from core.billing.events import stripe_event_process
    from core.models import StripeEvent

    return [
        stripe_event_process(event_pk=pk)
        for pk in StripeEvent.objects.order_by("received_at", "id").values_list("pk", flat=True)
    ]


def unix(offset_seconds: int = 0) -> int:
    return int(time.time()) + offset_seconds
