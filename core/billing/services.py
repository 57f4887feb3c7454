"""Billing writes the user asks for: checkout, verify the checkout, portal, plan changes, cancel and resume,
cancelling for account deletion, and syncing plan prices from Stripe. Applying Stripe's state to our rows
(and the user's plan rules) lives in core.sync."""

from __future__ import annotations

import logging
import time
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.billing import gateway
from core.billing.sync import plan_price_store, stripe_ref_id, subscription_sync_from_stripe
from core.exceptions import Conflict, DomainError, NotFound
from core.models import Plan, Subscription, User

logger = logging.getLogger(__name__)

# Double clicks inside this window reuse the same Checkout Session (Stripe idempotency).
CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS = 600

# Statuses in which a subscription still exists at Stripe and can be changed, cancelled or resumed.
LIVE_STATUSES = (Subscription.Status.ACTIVE, Subscription.Status.TRIALING, Subscription.Status.PAST_DUE)


class PriceUnavailable(DomainError):
    default_code = "price_unavailable"
    default_detail = "This plan cannot be bought with that billing interval."


def _paid_plan(plan_id: int, billing: str) -> tuple[Plan, str]:
    plan = Plan.objects.filter(pk=plan_id, is_active=True).first()
    if plan is None:
        raise NotFound("No such plan.")
    price_id, _amount = plan.price_for(billing)
    if plan.slug == Plan.Slug.FREE or not price_id:
        raise PriceUnavailable()
    return plan, price_id


def _live_subscription(user: User) -> Subscription | None:
    return (
        Subscription.objects.filter(user=user, status__in=LIVE_STATUSES)
        .select_related("plan")
        .order_by("-current_period_end", "-id")
        .first()
    )


def _window_key(*parts: object) -> str:
    window = int(time.time()) // CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS
    return ":".join(str(p) for p in (*parts, window))


def customer_ensure(*, user: User) -> str:
    """The user's Stripe customer id, creating the customer once (the user row is locked meanwhile)."""
    if user.stripe_customer_id:
        return user.stripe_customer_id
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.stripe_customer_id:
            # No idempotency key of ours: the row lock already prevents twins, and a fixed key would replay a
            # customer that was deleted since. The SDK still sends one key across its own network retries.
            customer = gateway.customer_create(
                email=locked.email,
                name=locked.get_full_name() or locked.username,
                metadata={"user_id": str(locked.pk)},
                idempotency_key=None,
            )
            locked.stripe_customer_id = customer["id"]
            locked.save(update_fields=["stripe_customer_id"])
    user.stripe_customer_id = locked.stripe_customer_id
    return user.stripe_customer_id


def _customer_forget(*, user: User, customer_id: str) -> None:
    """Stripe no longer knows the stored customer (deleted, or the keys moved from test to live mode)."""
    logger.warning("stripe customer missing at Stripe, a new one will be created user_id=%s", user.pk)
    User.objects.filter(pk=user.pk, stripe_customer_id=customer_id).update(stripe_customer_id="")
    user.stripe_customer_id = ""


def checkout_session_create(*, user: User, plan_id: int, billing: str) -> str:
    """A Stripe Checkout URL for a new subscription to `plan_id`, billed `billing` (monthly/yearly)."""
    if not gateway.is_configured():
        raise gateway.StripeNotConfigured()
    plan, price_id = _paid_plan(plan_id, billing)
    if _live_subscription(user) is not None:
        raise Conflict("You already have a subscription; change its plan instead.", code="already_subscribed")
    metadata = {"user_id": str(user.pk), "plan_id": str(plan.pk), "billing": billing}
    # One checkout at a time per user (row lock): the new session is created, then every other open one is
    # expired, so two tabs can never both be paid and two concurrent requests never expire each other's.
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        for attempt in (1, 2):
            customer_id = customer_ensure(user=user)
            key = _window_key("checkout", user.pk, price_id, customer_id)
            create = partial(_checkout_create, customer_id=customer_id, price_id=price_id, user=user, metadata=metadata)
            try:
                session = create(idempotency_key=key)
                break
            except gateway.StripeNotFound as exc:
                if exc.stripe_param != "customer" or attempt == 2:
                    # A price id Stripe does not know is our configuration, not something the caller asked for.
                    raise gateway.StripePermanentError() from exc
                _customer_forget(user=user, customer_id=customer_id)
        open_ids = [s["id"] for s in gateway.checkout_sessions_open(customer_id=customer_id)]
        if session["id"] not in open_ids:
            # An idempotent replay (Stripe answers with the original response) of a session that a newer
            # checkout has expired since: this tab gets a fresh one.
            session = create(idempotency_key=f"{key}:after:{session['id']}")
        _expire_checkouts(user=user, session_ids=[i for i in open_ids if i != session["id"]])
    logger.info("checkout session created user_id=%s plan=%s billing=%s", user.pk, plan.slug, billing)
    return session["url"]


def _checkout_create(*, customer_id: str, price_id: str, user: User, metadata: dict, idempotency_key: str) -> dict:
    frontend = settings.FRONTEND_URL
    return gateway.checkout_session_create(
        customer_id=customer_id,
        price_id=price_id,
        client_reference_id=str(user.pk),
        metadata=metadata,
        success_url=f"{frontend}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{frontend}/pricing?checkout=cancelled",
        idempotency_key=idempotency_key,
    )


def _expire_checkouts(*, user: User, session_ids: list[str]) -> None:
    """Only the newest Checkout can be paid: two open tabs (Basic, then Pro) must not end in two paid
    subscriptions."""
    for session_id in session_ids:
        try:
            gateway.checkout_session_expire(session_id=session_id)
        except gateway.StripePermanentError:
            # Completed or expired meanwhile: the webhook of a completed one still arrives.
            logger.info("checkout session no longer open user_id=%s session=%s", user.pk, session_id)
        else:
            logger.info("checkout session superseded user_id=%s session=%s", user.pk, session_id)


def checkout_session_verify(*, user: User, session_id: str) -> Subscription | None:
    """Sync the subscription of a finished Checkout Session, if that session was created for `user`.

    Someone else's session answers 404 exactly like a session that does not exist."""
    if not gateway.is_configured():
        raise gateway.StripeNotConfigured()
    try:
        session = gateway.checkout_session_retrieve(session_id=session_id)
    except gateway.StripeNotFound as exc:
        raise NotFound("No such checkout session.") from exc
    metadata = session.get("metadata") or {}
    owned = (
        session.get("client_reference_id") == str(user.pk)
        and metadata.get("user_id", str(user.pk)) == str(user.pk)
        and bool(user.stripe_customer_id)
        and stripe_ref_id(session.get("customer")) == user.stripe_customer_id
    )
    if not owned:
        logger.warning("verify-session refused user_id=%s session=%s", user.pk, session_id)
        raise NotFound("No such checkout session.")
    stripe_subscription = session.get("subscription")
    if session.get("status") != "complete" or not isinstance(stripe_subscription, dict):
        return None
    return subscription_sync_from_stripe(
        stripe_subscription=stripe_subscription, event_created=timezone.now(), user=user
    )


def portal_session_create(*, user: User) -> str:
    if not gateway.is_configured():
        raise gateway.StripeNotConfigured()
    if not user.stripe_customer_id:
        raise DomainError("You have no billing account yet.", code="no_billing_account")
    session = gateway.portal_session_create(
        customer_id=user.stripe_customer_id, return_url=f"{settings.FRONTEND_URL}/billing"
    )
    return session["url"]


def _require_live_subscription(user: User) -> Subscription:
    if not gateway.is_configured():
        raise gateway.StripeNotConfigured()
    subscription = _live_subscription(user)
    if subscription is None:
        raise NotFound("You have no active subscription.", code="no_subscription")
    return subscription


def subscription_change_plan(*, user: User, plan_id: int, billing: str) -> Subscription:
    """Move the subscription to another plan or interval; Stripe prorates the difference."""
    subscription = _require_live_subscription(user)
    plan, price_id = _paid_plan(plan_id, billing)
    if price_id == subscription.stripe_price_id:
        raise Conflict("You are already on this plan.", code="already_on_plan")
    updated = gateway.subscription_change_price(
        subscription_id=subscription.stripe_subscription_id,
        price_id=price_id,
        idempotency_key=_window_key("change", subscription.stripe_subscription_id, price_id),
    )
    logger.info("subscription plan changed user_id=%s plan=%s billing=%s", user.pk, plan.slug, billing)
    return subscription_sync_from_stripe(stripe_subscription=updated, event_created=timezone.now(), user=user)


def subscription_cancel(*, user: User) -> Subscription:
    """Cancel at the end of the paid period: the plan stays until then."""
    subscription = _require_live_subscription(user)
    updated = gateway.subscription_set_cancel_at_period_end(
        subscription_id=subscription.stripe_subscription_id, cancel=True
    )
    return subscription_sync_from_stripe(stripe_subscription=updated, event_created=timezone.now(), user=user)


def subscription_resume(*, user: User) -> Subscription:
    """Undo a cancellation that has not taken effect yet."""
    subscription = _require_live_subscription(user)
    if not subscription.cancel_at_period_end:
        raise Conflict("Your subscription is not set to cancel.", code="not_cancelling")
    updated = gateway.subscription_set_cancel_at_period_end(
        subscription_id=subscription.stripe_subscription_id, cancel=False
    )
    return subscription_sync_from_stripe(stripe_subscription=updated, event_created=timezone.now(), user=user)


def subscription_cancel_for_user_deletion(*, user: User) -> None:
    """End the user's subscriptions at Stripe right away, before their account is deleted.

    Without Stripe keys there is nothing to cancel. Any other Stripe failure propagates, so the account is
    not deleted while Stripe would go on charging it."""
    live = list(Subscription.objects.filter(user=user).exclude(status__in=Subscription.FINAL_STATUSES))
    if not live or not gateway.is_configured():
        return
    for subscription in live:
        try:
            gateway.subscription_cancel_now(subscription_id=subscription.stripe_subscription_id)
        except gateway.StripeNotFound:
            pass  # already gone at Stripe
        logger.info("subscription cancelled for account deletion user_id=%s", user.pk)


def plans_sync_prices_from_stripe(*, plans=None) -> list[str]:
    """Retrieve every configured price from Stripe and store amount, currency and interval on its plan.

    Used by `seed_plans --sync-stripe` and by `product.*` events. Returns one line per price."""
    if not gateway.is_configured():
        raise gateway.StripeNotConfigured()
    lines = []
    for plan in plans if plans is not None else Plan.objects.order_by("order"):
        for price_id in (plan.stripe_price_monthly, plan.stripe_price_yearly):
            if not price_id:
                continue
            try:
                stripe_price = gateway.price_retrieve(price_id=price_id)
            except gateway.StripeNotFound:
                lines.append(f"{plan.slug} {price_id}: not found at Stripe")
                continue
            with transaction.atomic():
                locked = Plan.objects.select_for_update().get(pk=plan.pk)
                lines.append(plan_price_store(locked, stripe_price))
    return lines
