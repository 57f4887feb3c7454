"""The one place that talks to Stripe.

Nothing else imports `stripe`. The client is built from settings (secret key, `STRIPE_API_BASE` for a local
fake, the API version pinned in STRIPE_API_VERSION, timeout, network retries); every function takes
keyword-only arguments and returns plain dicts, because stripe 16 objects are not dicts. SDK errors become
our own: transient (worth retrying), permanent (our request or our keys are wrong), card errors (Stripe's
message is meant for the customer) and "not configured".
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

from core.exceptions import DomainError
from core.text import clean_data

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

logger = logging.getLogger(__name__)


class StripeNotConfigured(DomainError):
    status_code = 503
    default_code = "payments_not_configured"
    default_detail = "Payments are not configured."


class StripeGatewayError(DomainError):
    """Base of the errors raised when a call to Stripe failed."""

    status_code = 502
    default_code = "payment_provider_error"
    default_detail = "The payment provider rejected the request."

    def __init__(self, detail: str | None = None, *, stripe_param: str | None = None) -> None:
        super().__init__(detail)
        # Which request parameter Stripe objected to (e.g. "customer"): for our code, never shown.
        self.stripe_param = stripe_param


class StripeTransientError(StripeGatewayError):
    """Rate limit, connection failure, timeout or a 5xx from Stripe: trying again later may work."""

    status_code = 503
    default_code = "payment_provider_unavailable"
    default_detail = "The payment provider is unavailable right now, please try again."


class StripePermanentError(StripeGatewayError):
    """Stripe refused the request itself (bad keys, bad parameters): retrying will not help."""


class StripeNotFound(StripePermanentError):
    status_code = 404
    default_code = "not_found"
    default_detail = "Not found."


class StripeCardError(StripeGatewayError):
    """The customer's card was declined; Stripe's message is written for the customer."""

    status_code = 402
    default_code = "card_error"
    default_detail = "The card was declined."


class WebhookSignatureInvalid(DomainError):
    status_code = 400
    default_code = "invalid_signature"
    default_detail = "Invalid Stripe signature."


class WebhookPayloadInvalid(DomainError):
    status_code = 400
    default_code = "invalid_payload"
    default_detail = "Invalid webhook payload."


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


@functools.lru_cache(maxsize=8)
def _client_for(
    api_key: str,
    api_base: str | None,
    api_version: str,
    timeout: float,
    max_retries: int,
) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=api_version,
        base_addresses={"api": api_base.rstrip("/")} if api_base else None,
        max_network_retries=max_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _client() -> stripe.StripeClient:
    if not is_configured():
        raise StripeNotConfigured()
    return _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE or None,
        settings.STRIPE_API_VERSION,
        float(settings.STRIPE_TIMEOUT),
        int(settings.STRIPE_MAX_NETWORK_RETRIES),
    )


@contextmanager
def _translated_errors(operation: str) -> Iterator[None]:
    try:
        yield
    except stripe.CardError as exc:
        logger.info(
            "stripe %s: card error code=%s request=%s",
            operation,
            exc.code,
            exc.request_id,
        )
        raise StripeCardError(exc.user_message or StripeCardError.default_detail) from exc
    except (stripe.RateLimitError, stripe.APIConnectionError) as exc:
        logger.warning(
            "stripe %s: transient %s request=%s",
            operation,
            type(exc).__name__,
            exc.request_id,
        )
        raise StripeTransientError() from exc
    except stripe.InvalidRequestError as exc:
        logger.warning(
            "stripe %s: invalid request code=%s param=%s request=%s",
            operation,
            exc.code,
            exc.param,
            exc.request_id,
        )
        if exc.code == "resource_missing":
            raise StripeNotFound(stripe_param=exc.param) from exc
        raise StripePermanentError(stripe_param=exc.param) from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Never log the message: for a bad key it quotes part of the key.
        logger.error("stripe %s: %s request=%s", operation, type(exc).__name__, exc.request_id)
        raise StripePermanentError() from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        logger.warning(
            "stripe %s: %s status=%s request=%s",
            operation,
            type(exc).__name__,
            status,
            exc.request_id,
        )
        if status >= 500 or status == 409 or isinstance(exc, stripe.APIError):
            raise StripeTransientError() from exc
        raise StripePermanentError() from exc


def _options(idempotency_key: str | None) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


def customer_create(*, email: str, name: str, metadata: dict[str, str], idempotency_key: str | None) -> dict:
    client = _client()
    with _translated_errors("customer_create"):
        customer = client.v1.customers.create(
            params={"email": email, "name": name, "metadata": metadata},
            options=_options(idempotency_key),
        )
    return customer.to_dict()


def customer_delete(*, customer_id: str) -> dict:
    """Delete the customer for good: Stripe cancels its subscriptions at once, and its open Checkout
    Sessions can no longer be paid."""
    client = _client()
    with _translated_errors("customer_delete"):
        return client.v1.customers.delete(customer_id).to_dict()


def customer_retrieve(*, customer_id: str) -> dict:
    client = _client()
    with _translated_errors("customer_retrieve"):
        return client.v1.customers.retrieve(customer_id).to_dict()


def checkout_session_create(
    *,
    customer_id: str,
    price_id: str,
    client_reference_id: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> dict:
    client = _client()
    params: SessionCreateParams = {
        "mode": "subscription",
        "customer": customer_id,
        "line_items": [{"price": price_id, "quantity": 1}],
        "client_reference_id": client_reference_id,
        "metadata": metadata,
        # The subscription carries the ids too, so its own events can be tied back without the session.
        "subscription_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    with _translated_errors("checkout_session_create"):
        session = client.v1.checkout.sessions.create(params=params, options=_options(idempotency_key))
    return session.to_dict()


def checkout_sessions_open(*, customer_id: str) -> list[dict]:
    """The customer's Checkout Sessions that can still be paid (at most 100, newest first)."""
    client = _client()
    with _translated_errors("checkout_sessions_open"):
        page = client.v1.checkout.sessions.list(params={"customer": customer_id, "status": "open", "limit": 100})
    return [session.to_dict() for session in page.data]


def checkout_session_expire(*, session_id: str) -> dict:
    client = _client()
    with _translated_errors("checkout_session_expire"):
        session = client.v1.checkout.sessions.expire(session_id)
    return session.to_dict()


def checkout_session_retrieve(*, session_id: str) -> dict:
    client = _client()
    with _translated_errors("checkout_session_retrieve"):
        session = client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["subscription"]})
    return session.to_dict()


def portal_session_create(*, customer_id: str, return_url: str) -> dict:
    client = _client()
    with _translated_errors("portal_session_create"):
        session = client.v1.billing_portal.sessions.create(params={"customer": customer_id, "return_url": return_url})
    return session.to_dict()


def subscription_retrieve(*, subscription_id: str) -> dict:
    client = _client()
    with _translated_errors("subscription_retrieve"):
        return client.v1.subscriptions.retrieve(subscription_id).to_dict()


def _replayed(stripe_object: Any) -> bool:
    """Whether Stripe answered with the stored response of an earlier request with the same idempotency key."""
    response = getattr(stripe_object, "last_response", None)
    headers = getattr(response, "headers", None) or {}
    return str(headers.get("Idempotent-Replayed") or headers.get("idempotent-replayed") or "").lower() == "true"


def subscription_change_price(*, subscription_id: str, price_id: str, idempotency_key: str | None = None) -> dict:
    """Move the subscription's single item to another price; Stripe prorates the difference.

    Returns the subscription as Stripe has it now. A replayed answer (the key was used before) describes the
    subscription as it was then, so it is never returned: the subscription is read again instead, and the
    caller compares its price with the one asked for."""
    client = _client()
    with _translated_errors("subscription_change_price"):
        current = client.v1.subscriptions.retrieve(subscription_id).to_dict()
        item_id = current["items"]["data"][0]["id"]
        updated = client.v1.subscriptions.update(
            subscription_id,
            params={
                "items": [{"id": item_id, "price": price_id}],
                "proration_behavior": "create_prorations",
                # Choosing a plan again also withdraws a pending cancellation.
                "cancel_at_period_end": False,
            },
            options=_options(idempotency_key),
        )
        if _replayed(updated):
            logger.warning("stripe subscription_change_price: replayed answer, reading the subscription again")
            return client.v1.subscriptions.retrieve(subscription_id).to_dict()
    return updated.to_dict()


def subscription_set_cancel_at_period_end(*, subscription_id: str, cancel: bool) -> dict:
    client = _client()
    with _translated_errors("subscription_set_cancel_at_period_end"):
        updated = client.v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": cancel})
    return updated.to_dict()


def subscription_cancel_now(*, subscription_id: str) -> dict:
    client = _client()
    with _translated_errors("subscription_cancel_now"):
        return client.v1.subscriptions.cancel(subscription_id).to_dict()


def price_retrieve(*, price_id: str) -> dict:
    client = _client()
    with _translated_errors("price_retrieve"):
        return client.v1.prices.retrieve(price_id).to_dict()


def product_retrieve(*, product_id: str) -> dict:
    client = _client()
    with _translated_errors("product_retrieve"):
        return client.v1.products.retrieve(product_id).to_dict()


def webhook_event_construct(*, payload: bytes, sig_header: str | None) -> dict:
    """Verify a webhook body against STRIPE_WEBHOOK_SECRET and return the event as a plain dict.

    Raises WebhookSignatureInvalid for a missing, wrong or stale (older than 5 minutes) signature and
    WebhookPayloadInvalid for a body that is not a Stripe event.
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise StripeNotConfigured("Stripe webhooks are not configured.")
    if not sig_header:
        raise WebhookSignatureInvalid("Missing Stripe-Signature header.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookPayloadInvalid() from exc
    try:
        stripe.WebhookSignature.verify_header(text, sig_header, secret, stripe.Webhook.DEFAULT_TOLERANCE)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureInvalid() from exc
    try:
        # The signature covers the bytes as sent; only then is the parsed event cleaned (core.text): a
        # "\u0000" escape, which any free-text field (a name, metadata) may hold, is refused by jsonb.
        event = clean_data(json.loads(text))
    except ValueError as exc:
        raise WebhookPayloadInvalid() from exc
    if (
        not isinstance(event, dict)
        or event.get("object") != "event"
        or not isinstance(event.get("id"), str)
        or not 0 < len(event["id"]) <= 255
        or not isinstance(event.get("created"), int)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("data"), dict)
    ):
        raise WebhookPayloadInvalid()
    return event
