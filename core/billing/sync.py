"""Applying Stripe's view of subscriptions, invoices and prices to our rows, and the user's plan to it.

How the user's plan follows their subscriptions (`user_plan_refresh`):
- `active` / `trialing`: the subscription's plan;
- `past_due`: the plan is kept for BILLING_PAST_DUE_GRACE_DAYS after we first saw the subscription past due (Stripe is
  still retrying the card); after that the user is on Free until a payment succeeds. A beat task
  (`core.tasks.billing_grace_sweep`) applies the end of the grace period, since no event marks it;
- anything else (`canceled`, `unpaid`, `incomplete`, `incomplete_expired`, `paused`): Free.
Several granting subscriptions: the highest plan wins.

Ordering: every subscription and invoice row remembers the Stripe time (`created` of the event, or the
moment we read it from the API) of the last state applied to it, and an older state is ignored, so a
late or re-ordered webhook never rolls a subscription back. Two states with the same second are applied
unless the newer one would move the status backwards (`incomplete` after `active`, `open` after `paid`);
a paid or void invoice is final.

Locks: the user row first (select_for_update), then their subscription and invoice rows. Account deletion
takes the user row first too, so the two never wait on each other in opposite order.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.billing.currencies import amount_from_minor
from core.exceptions import DomainError
from core.models import Invoice, Plan, Subscription, User

logger = logging.getLogger(__name__)


GRANTING_STATUSES = Subscription.GRANTING_STATUSES


def _past_due_grace() -> timedelta:
    return timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)


# Same-second states: a lower rank never replaces a higher one (incomplete < live < ended).
_STATUS_RANK: dict[str, int] = {
    Subscription.Status.INCOMPLETE: 0,
    Subscription.Status.CANCELED: 2,
    Subscription.Status.INCOMPLETE_EXPIRED: 2,
}
_INTERVALS: dict[str, str] = {"month": Plan.Interval.MONTHLY, "year": Plan.Interval.YEARLY}
# An invoice moves draft -> open -> paid | void | uncollectible (and uncollectible -> paid | void). Paid and
# void are final at Stripe, so a state of lower rank never replaces them, whatever its time; within one
# second (Stripe's `created` has no finer grain) a lower rank never replaces a higher one.
_INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
_INVOICE_FINAL = ("paid", "void")


class UnknownStripePrice(DomainError):
    """A subscription grants access through a price no plan knows: fix the plan's price ids, then replay."""

    status_code = 502
    default_code = "unknown_price"
    default_detail = "The subscription's price belongs to no plan."


def _from_unix(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def stripe_ref_id(value) -> str | None:
    """A reference that is an id or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def plan_for_price(price_id: str | None) -> Plan | None:
    if not price_id:
        return None
    return Plan.objects.filter(Q(stripe_price_monthly=price_id) | Q(stripe_price_yearly=price_id)).first()


def _user_for_stripe_subscription(stripe_subscription: dict) -> User | None:
    existing = (
        Subscription.objects.filter(stripe_subscription_id=stripe_subscription["id"]).select_related("user").first()
    )
    if existing is not None:
        return existing.user
    customer_id = stripe_ref_id(stripe_subscription.get("customer"))
    user_id = (stripe_subscription.get("metadata") or {}).get("user_id")
    if user_id and str(user_id).isdigit():
        user = User.objects.filter(pk=int(user_id)).first()
        if user is not None and (not user.stripe_customer_id or user.stripe_customer_id == customer_id):
            return user
    if customer_id:
        return User.objects.filter(stripe_customer_id=customer_id).first()
    return None


def _is_stale(subscription: Subscription, event_created: datetime, status: str) -> bool:
    if subscription.last_event_at is None:
        return False
    if event_created != subscription.last_event_at:
        return event_created < subscription.last_event_at
    return _STATUS_RANK.get(status, 1) < _STATUS_RANK.get(subscription.status, 1)


@transaction.atomic
def subscription_sync_from_stripe(
    *, stripe_subscription: dict, event_created: datetime, user: User | None = None
) -> Subscription | None:
    """Apply Stripe's state of a subscription (as of `event_created`) to our row and to the user's plan.

    Returns None when no user of ours owns it. Raises UnknownStripePrice when it would grant access through
    a price no plan has."""
    user = user or _user_for_stripe_subscription(stripe_subscription)
    if user is None:
        return None
    # One user's subscriptions are applied one at a time: two events for a new subscription cannot both
    # create it, and the plan is recomputed from a consistent set.
    user = User.objects.select_for_update().filter(pk=user.pk).first()
    if user is None:  # deleted meanwhile
        return None
    subscription = Subscription.objects.filter(stripe_subscription_id=stripe_subscription["id"]).first()
    status = stripe_subscription.get("status") or Subscription.Status.INCOMPLETE
    if subscription is not None and _is_stale(subscription, event_created, status):
        logger.info(
            "stale subscription state ignored sub=%s status=%s event_created=%s last=%s",
            subscription.stripe_subscription_id,
            status,
            event_created.isoformat(),
            subscription.last_event_at.isoformat() if subscription.last_event_at else None,
        )
        return subscription

    items = (stripe_subscription.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or stripe_subscription.get("plan") or {}
    price_id = stripe_ref_id(price) or ""
    plan = plan_for_price(price_id)
    if plan is None and status in (*GRANTING_STATUSES, Subscription.Status.PAST_DUE):
        raise UnknownStripePrice(f"No plan has the Stripe price {price_id!r}.")
    recurring = price.get("recurring") if isinstance(price, dict) else None
    customer_id = stripe_ref_id(stripe_subscription.get("customer")) or ""
    values = {
        "user": user,
        "plan": plan,
        "stripe_customer_id": customer_id,
        "stripe_price_id": price_id,
        "status": status,
        "interval": _INTERVALS.get((recurring or {}).get("interval") or "", ""),
        "current_period_start": _from_unix(
            item.get("current_period_start") or stripe_subscription.get("current_period_start")
        ),
        "current_period_end": _from_unix(
            item.get("current_period_end") or stripe_subscription.get("current_period_end")
        ),
        "cancel_at_period_end": bool(stripe_subscription.get("cancel_at_period_end")),
        "canceled_at": _from_unix(stripe_subscription.get("canceled_at")),
        "last_event_at": max(event_created, subscription.last_event_at)
        if subscription and subscription.last_event_at
        else event_created,
    }
    if status != Subscription.Status.PAST_DUE:
        values["past_due_since"] = None
    elif subscription is None or subscription.past_due_since is None:
        values["past_due_since"] = event_created
    if subscription is None:
        subscription = Subscription.objects.create(stripe_subscription_id=stripe_subscription["id"], **values)
    else:
        for field, value in values.items():
            setattr(subscription, field, value)
        subscription.save()
    if not user.stripe_customer_id and customer_id:
        user.stripe_customer_id = customer_id
        user.save(update_fields=["stripe_customer_id"])
    user_plan_refresh(user=user)
    logger.info(
        "subscription synced user_id=%s sub=%s status=%s plan=%s",
        user.pk,
        subscription.stripe_subscription_id,
        status,
        plan.slug if plan else None,
    )
    return subscription


def subscription_grants_plan(subscription: Subscription, *, now: datetime) -> bool:
    if subscription.status in GRANTING_STATUSES:
        return True
    if subscription.status == Subscription.Status.PAST_DUE:
        since = subscription.past_due_since or now
        return now < since + _past_due_grace()
    return False


@transaction.atomic
def user_plan_refresh(*, user: User) -> Plan | None:
    """Set `user.plan` from their subscriptions: the highest plan any of them grants, else None (Free)."""
    now = timezone.now()
    granting = [
        s
        for s in Subscription.objects.filter(user=user, plan__isnull=False).select_related("plan")
        if subscription_grants_plan(s, now=now)
    ]
    plan = max((s.plan for s in granting if s.plan is not None), key=lambda p: p.order, default=None)
    if user.plan_id != (plan.pk if plan else None):
        User.objects.filter(pk=user.pk).update(plan=plan)
        logger.info("user plan changed user_id=%s plan=%s", user.pk, plan.slug if plan else "free")
    user.plan = plan
    return plan


def subscriptions_grace_expire() -> int:
    """Move users whose past-due grace period has ended to Free. Returns how many users changed."""
    cutoff = timezone.now() - _past_due_grace()
    user_ids = set(
        Subscription.objects.filter(
            status=Subscription.Status.PAST_DUE, past_due_since__lte=cutoff, user__plan__isnull=False
        ).values_list("user_id", flat=True)
    )
    changed = 0
    for user in User.objects.filter(pk__in=user_ids):
        before = user.plan_id
        with transaction.atomic():
            locked = User.objects.select_for_update().filter(pk=user.pk).first()
            if locked is None:  # deleted meanwhile
                continue
            user_plan_refresh(user=locked)
        changed += int(locked.plan_id != before)
    return changed


def _user_for_stripe_invoice(stripe_invoice: dict) -> tuple[User | None, Subscription | None]:
    parent = stripe_invoice.get("parent") or {}
    subscription_id = stripe_ref_id(
        (parent.get("subscription_details") or {}).get("subscription") or stripe_invoice.get("subscription")
    )
    subscription = None
    if subscription_id:
        # With its user in the same query: the account may be deleted between two queries.
        subscription = (
            Subscription.objects.filter(stripe_subscription_id=subscription_id).select_related("user").first()
        )
    if subscription is not None:
        return subscription.user, subscription
    customer_id = stripe_ref_id(stripe_invoice.get("customer"))
    user = User.objects.filter(stripe_customer_id=customer_id).first() if customer_id else None
    return user, None


def _invoice_is_stale(invoice: Invoice, event_created: datetime, status: str) -> bool:
    rank, current_rank = _INVOICE_RANK.get(status, 1), _INVOICE_RANK.get(invoice.status, 1)
    if invoice.status in _INVOICE_FINAL and rank < current_rank:
        return True
    if invoice.last_event_at is None or event_created > invoice.last_event_at:
        return False
    return event_created < invoice.last_event_at or rank < current_rank


@transaction.atomic
def invoice_sync_from_stripe(*, stripe_invoice: dict, event_created: datetime) -> Invoice | None:
    """Create or update our copy of an invoice (payment history). None when no user of ours owns it."""
    user, subscription = _user_for_stripe_invoice(stripe_invoice)
    if user is None:
        return None
    # The user row first, as everywhere (sync, account deletion): one lock order, no deadlock.
    if not User.objects.select_for_update().filter(pk=user.pk).exists():
        return None  # deleted meanwhile
    invoice = Invoice.objects.select_for_update().filter(stripe_invoice_id=stripe_invoice["id"]).first()
    status = stripe_invoice.get("status") or ""
    if invoice is not None and _invoice_is_stale(invoice, event_created, status):
        logger.info(
            "stale invoice state ignored invoice=%s status=%s kept=%s",
            invoice.stripe_invoice_id,
            status,
            invoice.status,
        )
        return invoice
    currency = (stripe_invoice.get("currency") or "usd").lower()
    lines = (stripe_invoice.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") if lines else None) or {}
    values = {
        "user": user,
        "subscription": subscription,
        "number": stripe_invoice.get("number") or "",
        "status": status,
        "currency": currency,
        "amount_due": amount_from_minor(stripe_invoice.get("amount_due") or 0, currency),
        "amount_paid": amount_from_minor(stripe_invoice.get("amount_paid") or 0, currency),
        "period_start": _from_unix(period.get("start") or stripe_invoice.get("period_start")),
        "period_end": _from_unix(period.get("end") or stripe_invoice.get("period_end")),
        "stripe_created": _from_unix(stripe_invoice.get("created")) or event_created,
        "hosted_invoice_url": stripe_invoice.get("hosted_invoice_url") or "",
        "last_event_at": max(event_created, invoice.last_event_at)
        if invoice and invoice.last_event_at
        else event_created,
    }
    invoice, _created = Invoice.objects.update_or_create(stripe_invoice_id=stripe_invoice["id"], defaults=values)
    return invoice


def plan_price_store(plan: Plan, stripe_price: dict, *, deleted: bool = False) -> str:
    """Copy one Stripe price onto the plan slot that uses it. Returns a line saying what was stored."""
    price_id = stripe_price["id"]
    slot = Plan.Interval.MONTHLY if plan.stripe_price_monthly == price_id else Plan.Interval.YEARLY
    interval = _INTERVALS.get((stripe_price.get("recurring") or {}).get("interval") or "")
    currency = (stripe_price.get("currency") or plan.currency).lower()
    if not deleted and interval != slot:
        logger.warning("price %s is billed %s but set as %s on plan %s", price_id, interval, slot, plan.slug)
        return f"{plan.slug} {slot} {price_id}: skipped, Stripe bills it {interval or 'once'}"
    amount = None if deleted else amount_from_minor(stripe_price.get("unit_amount"), currency)
    setattr(plan, f"{slot}_amount", amount)
    plan.currency = currency
    product_id = stripe_ref_id(stripe_price.get("product"))
    if product_id:
        plan.stripe_product_id = product_id
    plan.save(update_fields=[f"{slot}_amount", "currency", "stripe_product_id", "updated_at"])
    return f"{plan.slug} {slot} {price_id}: {amount if amount is not None else 'removed'} {currency}/{slot}"


@transaction.atomic
def plan_price_sync_from_stripe(*, stripe_price: dict, deleted: bool = False) -> list[str]:
    """Apply a `price.*` event to the plans that use that price."""
    price_id = stripe_price["id"]
    plans = Plan.objects.select_for_update().filter(Q(stripe_price_monthly=price_id) | Q(stripe_price_yearly=price_id))
    return [plan_price_store(plan, stripe_price, deleted=deleted) for plan in plans]
