"""Billing writes the user asks for: checkout, verify the checkout, portal, plan changes, cancel and resume,
cancelling for account deletion, and syncing plan prices from Stripe. Applying Stripe's state to our rows
(and the user's plan rules) lives in core.billing.sync."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.billing import gateway
from core.billing.sync import plan_price_store, stripe_ref_id, subscription_sync_from_stripe
from core.exceptions import Conflict, DomainError, NotFound
from core.models import Plan, Subscription, User

logger = logging.getLogger(__name__)

# A checkout started again within this time (a double click, a reload) gets the same open Checkout Session.
CHECKOUT_REUSE_WINDOW = timedelta(minutes=10)

# Statuses in which a subscription still exists at Stripe and can be changed, cancelled or resumed.
LIVE_STATUSES = Subscription.LIVE_STATUSES


class PlanChangeNotApplied(Conflict):
    default_code = "plan_change_not_applied"
    default_detail = "The payment provider did not apply the plan change; your plan is unchanged. Please try again."


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


def _synced(subscription: Subscription | None) -> Subscription:
    # The sync stores nothing when the account was deleted while Stripe was being asked.
    if subscription is None:
        raise NotFound("This account no longer exists.", code="account_deleted")
    return subscription


def _request_key(*parts: object) -> str:
    """An idempotency key for one request of ours: Stripe replays its answer only to the SDK's own retries of
    that request, never to a later request that happens to look the same."""
    return ":".join(str(p) for p in (*parts, uuid.uuid4().hex))


def _lock_user(user: User) -> User:
    """Lock the user row (inside the caller's transaction). Every billing write and the account deletion take
    this lock first, so they never wait on each other's rows in opposite order."""
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise NotFound("This account no longer exists.", code="account_deleted")
    return locked


def customer_ensure(*, user: User) -> str:
    """The user's Stripe customer id, creating the customer once (the user row is locked meanwhile)."""
    if user.stripe_customer_id:
        return user.stripe_customer_id
    with transaction.atomic():
        locked = _lock_user(user)
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
    # One checkout at a time per user (row lock): a recent open session for the same choice is handed out
    # again (double click, reload), else a new one is created; then every other open one is expired, so two
    # tabs can never both be paid and two concurrent requests never expire each other's.
    with transaction.atomic():
        _lock_user(user)
        for attempt in (1, 2):
            customer_id = customer_ensure(user=user)
            create = partial(_checkout_create, customer_id=customer_id, price_id=price_id, user=user, metadata=metadata)
            try:
                open_sessions = gateway.checkout_sessions_open(customer_id=customer_id)
                session = _reusable_checkout(open_sessions, metadata=metadata) or create(
                    idempotency_key=_request_key("checkout", user.pk)
                )
                break
            except gateway.StripeNotFound as exc:
                if exc.stripe_param != "customer" or attempt == 2:
                    # A price id Stripe does not know is our configuration, not something the caller asked for.
                    raise gateway.StripePermanentError() from exc
                _customer_forget(user=user, customer_id=customer_id)
        _expire_checkouts(user=user, session_ids=[s["id"] for s in open_sessions if s["id"] != session["id"]])
    logger.info("checkout session ready user_id=%s plan=%s billing=%s", user.pk, plan.slug, billing)
    return session["url"]


def _reusable_checkout(open_sessions: list[dict], *, metadata: dict[str, str]) -> dict | None:
    """The newest open session started for the same plan and interval within CHECKOUT_REUSE_WINDOW."""
    since = (timezone.now() - CHECKOUT_REUSE_WINDOW).timestamp()
    for session in open_sessions:
        recent = (session.get("created") or 0) >= since
        if recent and (session.get("metadata") or {}) == metadata and session.get("url"):
            return session
    return None


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
    """Move the subscription to another plan or interval; Stripe prorates the difference.

    Changes of one user run one at a time (user row lock, held until the new state is stored), so a double
    click is one change: the second click finds the plan already changed (409 `already_on_plan`). Each
    request has its own idempotency key, so Basic -> Pro -> Basic -> Pro are four changes at Stripe, and the
    answer is stored only if Stripe's subscription now has the price asked for."""
    _require_live_subscription(user)
    plan, price_id = _paid_plan(plan_id, billing)
    with transaction.atomic():
        _lock_user(user)
        subscription = _require_live_subscription(user)
        if price_id == subscription.stripe_price_id:
            raise Conflict("You are already on this plan.", code="already_on_plan")
        updated = gateway.subscription_change_price(
            subscription_id=subscription.stripe_subscription_id,
            price_id=price_id,
            idempotency_key=_request_key("change", subscription.stripe_subscription_id, price_id),
        )
        applied = _synced(
            subscription_sync_from_stripe(stripe_subscription=updated, event_created=timezone.now(), user=user)
        )
    if _stripe_price_of(updated) != price_id:
        logger.error(
            "subscription plan change not applied by stripe user_id=%s asked=%s stripe_has=%s",
            user.pk,
            price_id,
            _stripe_price_of(updated),
        )
        raise PlanChangeNotApplied()
    logger.info("subscription plan changed user_id=%s plan=%s billing=%s", user.pk, plan.slug, billing)
    return applied


def _stripe_price_of(stripe_subscription: dict) -> str | None:
    items = (stripe_subscription.get("items") or {}).get("data") or []
    return stripe_ref_id(items[0].get("price")) if items else None


def subscription_cancel(*, user: User) -> Subscription:
    """Cancel at the end of the paid period: the plan stays until then."""
    subscription = _require_live_subscription(user)
    updated = gateway.subscription_set_cancel_at_period_end(
        subscription_id=subscription.stripe_subscription_id, cancel=True
    )
    return _synced(subscription_sync_from_stripe(stripe_subscription=updated, event_created=timezone.now(), user=user))


def subscription_resume(*, user: User) -> Subscription:
    """Undo a cancellation that has not taken effect yet."""
    subscription = _require_live_subscription(user)
    if not subscription.cancel_at_period_end:
        raise Conflict("Your subscription is not set to cancel.", code="not_cancelling")
    updated = gateway.subscription_set_cancel_at_period_end(
        subscription_id=subscription.stripe_subscription_id, cancel=False
    )
    return _synced(subscription_sync_from_stripe(stripe_subscription=updated, event_created=timezone.now(), user=user))


def customer_delete_for_user_deletion(*, user: User) -> None:
    """Delete the user's Stripe customers before their account is deleted: Stripe cancels their
    subscriptions at once, and their open Checkout links can no longer be paid.

    The caller holds the user row lock (core.services.user_delete), so no checkout creates another customer
    meanwhile. Without Stripe keys there is nothing to reach. Any other Stripe failure propagates, so the
    account is not deleted while Stripe could go on charging it."""
    stored = Subscription.objects.filter(user=user).values_list("stripe_customer_id", flat=True)
    customer_ids = sorted({user.stripe_customer_id, *stored} - {""})
    if not customer_ids or not gateway.is_configured():
        return
    for customer_id in customer_ids:
        try:
            gateway.customer_delete(customer_id=customer_id)
        except gateway.StripeNotFound:
            pass  # already gone at Stripe
        logger.info("stripe customer deleted for account deletion user_id=%s", user.pk)


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
