import time

import pytest

from core.billing import gateway
from core.billing.gateway import (
    StripeCardError,
    StripeNotConfigured,
    StripeNotFound,
    StripePermanentError,
    StripeTransientError,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from core.tests.helpers import WEBHOOK_SECRET
from testing.fake_stripe import API_KEY
from testing.stripe_signing import signed_event_body, stripe_signature_header


@pytest.fixture
def price(fake_stripe):
    product = fake_stripe.add_product(name="Basic")
    return fake_stripe.add_price(product=product["id"], unit_amount=500, currency="usd", interval="month")


def _checkout(customer_id, price_id, key="checkout-key-1"):
    return gateway.checkout_session_create(
        customer_id=customer_id,
        price_id=price_id,
        client_reference_id="42",
        metadata={"user_id": "42", "plan_id": "2"},
        success_url="https://app.test/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://app.test/cancel",
        idempotency_key=key,
    )


def test_checkout_session_sends_price_mode_customer_metadata_and_idempotency_key(fake_stripe, price, settings):
    customer = fake_stripe.add_customer(email="ann@example.com")

    session = _checkout(customer["id"], price["id"])

    assert isinstance(session, dict)
    assert session["url"].startswith("https://checkout.stripe.test/")
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["mode"] == "subscription"
    assert sent.params["customer"] == customer["id"]
    assert sent.params["line_items"] == [{"price": price["id"], "quantity": "1"}]
    assert sent.params["client_reference_id"] == "42"
    assert sent.params["metadata"] == {"user_id": "42", "plan_id": "2"}
    assert sent.params["subscription_data"] == {"metadata": {"user_id": "42", "plan_id": "2"}}
    assert sent.idempotency_key == "checkout-key-1"
    assert sent.authorization == f"Bearer {API_KEY}"
    assert sent.headers["stripe-version"] == settings.STRIPE_API_VERSION


def test_repeated_idempotency_key_returns_the_same_session(fake_stripe, price):
    customer = fake_stripe.add_customer(email="ann@example.com")

    first = _checkout(customer["id"], price["id"])
    second = _checkout(customer["id"], price["id"])

    assert first["id"] == second["id"]
    assert len(fake_stripe.checkout_sessions) == 1


def test_checkout_retrieve_expands_the_subscription(fake_stripe, price):
    customer = fake_stripe.add_customer(email="ann@example.com")
    session = _checkout(customer["id"], price["id"])
    subscription = fake_stripe.complete_checkout_session(session["id"])

    retrieved = gateway.checkout_session_retrieve(session_id=session["id"])

    assert retrieved["subscription"]["id"] == subscription["id"]
    assert retrieved["subscription"]["metadata"] == {"user_id": "42", "plan_id": "2"}
    assert retrieved["subscription"]["items"]["data"][0]["price"]["id"] == price["id"]


def test_change_price_moves_the_item_with_proration(fake_stripe, price):
    customer = fake_stripe.add_customer(email="ann@example.com")
    other = fake_stripe.add_price(product=price["product"], unit_amount=1500, interval="month")
    sub = fake_stripe.add_subscription(customer=customer["id"], price=price["id"])

    updated = gateway.subscription_change_price(subscription_id=sub["id"], price_id=other["id"])

    assert updated["items"]["data"][0]["price"]["id"] == other["id"]
    [sent] = fake_stripe.requests_to("POST", "/v1/subscriptions")
    assert sent.params["proration_behavior"] == "create_prorations"
    assert sent.params["items"] == [{"id": sub["items"]["data"][0]["id"], "price": other["id"]}]


def test_change_price_answered_by_a_replay_returns_what_stripe_has_now(fake_stripe, price):
    customer = fake_stripe.add_customer(email="ann@example.com")
    other = fake_stripe.add_price(product=price["product"], unit_amount=1500, interval="month")
    sub = fake_stripe.add_subscription(customer=customer["id"], price=price["id"])
    gateway.subscription_change_price(subscription_id=sub["id"], price_id=other["id"], idempotency_key="k-up")
    gateway.subscription_change_price(subscription_id=sub["id"], price_id=price["id"], idempotency_key="k-down")

    # Stripe replays the first answer (the subscription on `other`) without changing anything.
    again = gateway.subscription_change_price(subscription_id=sub["id"], price_id=other["id"], idempotency_key="k-up")

    assert fake_stripe.subscriptions[sub["id"]]["items"]["data"][0]["price"]["id"] == price["id"]
    assert again["items"]["data"][0]["price"]["id"] == price["id"]


def test_customer_delete_cancels_its_subscriptions_and_open_checkouts(fake_stripe, price):
    customer = fake_stripe.add_customer(email="ann@example.com")
    sub = fake_stripe.add_subscription(customer=customer["id"], price=price["id"])
    session = _checkout(customer["id"], price["id"])

    deleted = gateway.customer_delete(customer_id=customer["id"])

    assert deleted == {"id": customer["id"], "object": "customer", "deleted": True}
    assert fake_stripe.subscriptions[sub["id"]]["status"] == "canceled"
    assert fake_stripe.checkout_sessions[session["id"]]["status"] == "expired"
    with pytest.raises(StripeNotFound):
        gateway.customer_delete(customer_id=customer["id"])
    with pytest.raises(StripeNotFound):
        _checkout(customer["id"], price["id"], key="checkout-key-2")


def test_cancel_at_period_end_and_cancel_now(fake_stripe, price):
    customer = fake_stripe.add_customer(email="ann@example.com")
    sub = fake_stripe.add_subscription(customer=customer["id"], price=price["id"])

    assert gateway.subscription_set_cancel_at_period_end(subscription_id=sub["id"], cancel=True)["cancel_at_period_end"]
    assert gateway.subscription_cancel_now(subscription_id=sub["id"])["status"] == "canceled"
    assert [r.method for r in fake_stripe.requests_to("DELETE", "/v1/subscriptions")] == ["DELETE"]


def test_price_retrieve_returns_amount_currency_and_interval(fake_stripe, price):
    retrieved = gateway.price_retrieve(price_id=price["id"])

    assert (
        retrieved["unit_amount"],
        retrieved["currency"],
        retrieved["recurring"]["interval"],
    ) == (
        500,
        "usd",
        "month",
    )


def test_server_error_is_transient(fake_stripe, price):
    fake_stripe.fail_next(500, headers={"Stripe-Should-Retry": "false"})

    with pytest.raises(StripeTransientError):
        gateway.price_retrieve(price_id=price["id"])


def test_rate_limit_is_transient(fake_stripe, price):
    fake_stripe.fail_next(429, error_type="invalid_request_error", code="rate_limit", message="Too many")

    with pytest.raises(StripeTransientError):
        gateway.price_retrieve(price_id=price["id"])


def test_unreachable_stripe_is_transient(settings, price, fake_stripe):
    fake_stripe.stop()

    with pytest.raises(StripeTransientError):
        gateway.price_retrieve(price_id=price["id"])


def test_sdk_retries_a_server_error_with_the_same_idempotency_key(fake_stripe, price, settings, monkeypatch):
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    monkeypatch.setattr(gateway.stripe.RequestsClient, "_sleep_time_seconds", lambda *a, **k: 0)
    customer = fake_stripe.add_customer(email="ann@example.com")
    fake_stripe.fail_next(500, path_prefix="/v1/checkout/sessions")

    session = _checkout(customer["id"], price["id"], key="retried-key")

    attempts = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert [a.idempotency_key for a in attempts] == ["retried-key", "retried-key"]
    assert session["id"] in fake_stripe.checkout_sessions


def test_card_error_keeps_stripes_message(fake_stripe, price):
    fake_stripe.fail_next(
        402,
        error_type="card_error",
        code="card_declined",
        message="Your card was declined.",
    )
    customer = fake_stripe.add_customer(email="ann@example.com")

    with pytest.raises(StripeCardError) as caught:
        _checkout(customer["id"], price["id"])

    assert caught.value.status_code == 402
    assert "Your card was declined." in str(caught.value)


def test_bad_api_key_is_permanent_and_not_retried(fake_stripe, price, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    settings.STRIPE_MAX_NETWORK_RETRIES = 2

    with pytest.raises(StripePermanentError):
        gateway.price_retrieve(price_id=price["id"])

    assert len(fake_stripe.requests) == 1


def test_unknown_object_is_not_found(fake_stripe):
    with pytest.raises(StripeNotFound):
        gateway.checkout_session_retrieve(session_id="cs_test_missing")


def test_without_secret_key_nothing_is_sent(fake_stripe, settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(StripeNotConfigured) as caught:
        gateway.price_retrieve(price_id="price_x")

    assert caught.value.status_code == 503
    assert fake_stripe.requests == []


def test_webhook_with_valid_signature_becomes_a_plain_event_dict(fake_stripe):
    event = fake_stripe.event("price.updated", {"id": "price_1", "object": "price"})
    body, header = signed_event_body(event, WEBHOOK_SECRET)

    constructed = gateway.webhook_event_construct(payload=body, sig_header=header)

    assert constructed == event


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=123",
        stripe_signature_header(b'{"other": 1}', WEBHOOK_SECRET),
        stripe_signature_header(b"x", "whsec_someone_else"),
    ],
)
def test_webhook_with_missing_or_wrong_signature_is_refused(fake_stripe, header):
    body, _ = signed_event_body(fake_stripe.event("price.updated", {"id": "price_1"}), WEBHOOK_SECRET)

    with pytest.raises(WebhookSignatureInvalid):
        gateway.webhook_event_construct(payload=body, sig_header=header)


def test_webhook_with_stale_signature_is_refused(fake_stripe):
    body, header = signed_event_body(
        fake_stripe.event("price.updated", {"id": "price_1"}),
        WEBHOOK_SECRET,
        timestamp=int(time.time()) - 301,
    )

    with pytest.raises(WebhookSignatureInvalid):
        gateway.webhook_event_construct(payload=body, sig_header=header)


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"object": "event"}', b"\xff\xfe"])
def test_webhook_with_signed_body_that_is_not_an_event_is_refused(fake_stripe, body):
    header = stripe_signature_header(body.decode("latin-1"), WEBHOOK_SECRET)

    with pytest.raises(WebhookPayloadInvalid):
        gateway.webhook_event_construct(payload=body, sig_header=header)
