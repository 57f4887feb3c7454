"""Stripe events whose text the database cannot hold as sent: verified over the bytes as sent, stored and
processed cleaned (a "\\u0000" escape is valid JSON, which jsonb refuses)."""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from core.billing import events
from core.models import Invoice, StripeEvent
from core.tests.helpers import WEBHOOK_SECRET, WEBHOOK_URL, post_webhook, process_stored_events
from testing.stripe_signing import stripe_signature_header

pytestmark = pytest.mark.django_db


def test_a_signed_event_holding_nul_is_stored_cleaned_and_processed(fake_stripe, plans, user, subscribed):
    stripe_invoice = fake_stripe.add_invoice(subscription=subscribed["id"])
    stripe_invoice["number"] = "FAKE\u0000-\u00010042"
    stripe_invoice["customer_name"] = "Jane\u0000 Doe"
    stripe_invoice["metadata"] = {"note\u0000": "paid \ud800by card\uffff"}
    event = fake_stripe.event("invoice.paid", stripe_invoice)

    response = post_webhook(event)

    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False}
    stored = StripeEvent.objects.get()
    assert stored.stripe_id == event["id"]
    stored_invoice = stored.payload["data"]["object"]
    assert stored_invoice["customer_name"] == "Jane Doe"
    assert stored_invoice["metadata"] == {"note": "paid by card"}
    assert "\\u0000" not in json.dumps(stored.payload)

    assert process_stored_events() == [StripeEvent.Status.PROCESSED]
    invoice = Invoice.objects.get()
    assert (invoice.user, invoice.number, invoice.amount_paid) == (user, "FAKE-0042", Decimal("5.00"))


def test_the_signature_is_checked_over_the_bytes_as_sent(fake_stripe):
    event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price", "nickname": "Pro\u0000"})
    body = json.dumps(event).encode()
    # A signature over the body with the NUL taken out does not match the body as sent.
    cleaned_signature = stripe_signature_header(body.replace(b"\\u0000", b""), WEBHOOK_SECRET)

    response = APIClient().post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=cleaned_signature
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_a_failure_whose_message_holds_nul_is_kept_for_a_retry(fake_stripe, plans, monkeypatch):
    post_webhook(fake_stripe.event("price.updated", {"id": "price_x", "object": "price"}))

    def broken(event):
        raise ValueError("unexpected value 'a\x00b'")

    monkeypatch.setattr(events, "_dispatch", broken)

    assert process_stored_events() == [StripeEvent.Status.FAILED]
    stored = StripeEvent.objects.get()
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.last_error == "ValueError: unexpected value 'ab'"
    assert stored.next_attempt_at is not None and stored.lease_token is None
