"""Billing reads. None of them calls Stripe."""

from datetime import datetime
from typing import TypedDict

from django.db.models import Case, IntegerField, JSONField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_datetime

from core.models import Invoice, Subscription, User

# The subscription a user "has": a live one before an ended one, then the newest.
_LIVE_FIRST = Case(
    When(status__in=Subscription.LIVE_STATUSES, then=Value(0)),
    When(status__in=Subscription.STALLED_STATUSES, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def subscription_current_for(*, user: User) -> Subscription | None:
    return (
        Subscription.objects.filter(user=user)
        .select_related("plan")
        .order_by(_LIVE_FIRST, "-created_at", "-id")
        .first()
    )


_SUMMARY_FIELDS = ("status", "interval", "current_period_end", "cancel_at_period_end")


class SubscriptionSummary(TypedDict):
    status: str
    interval: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool


def subscription_summary_for(*, user: User) -> SubscriptionSummary | None:
    """What `/auth/user/` shows about the subscription: no Stripe call, and no query at all for a user loaded
    by `users_with_subscription_summary` (as authentication loads every user)."""
    if hasattr(user, "subscription_summary_json"):
        row = user.subscription_summary_json
        if row is not None:
            row = {**row, "current_period_end": parse_datetime(row["current_period_end"] or "")}
    else:
        row = (
            Subscription.objects.filter(user=user)
            .order_by(_LIVE_FIRST, "-created_at", "-id")
            .values(*_SUMMARY_FIELDS)
            .first()
        )
    if row is None:
        return None
    return {
        "status": row["status"],
        "interval": row["interval"] or None,
        "current_period_end": row["current_period_end"],
        "cancel_at_period_end": row["cancel_at_period_end"],
    }


def users_with_subscription_summary(users: QuerySet[User]) -> QuerySet[User]:
    """`users` with their plan and their subscription summary loaded in the same query."""
    summary = (
        Subscription.objects.filter(user=OuterRef("pk"))
        .order_by(_LIVE_FIRST, "-created_at", "-id")
        .values(json=JSONObject(**{field: field for field in _SUMMARY_FIELDS}))[:1]
    )
    return users.select_related("plan").annotate(subscription_summary_json=Subquery(summary, output_field=JSONField()))


def invoices_for(*, user: User) -> QuerySet[Invoice]:
    return Invoice.objects.filter(user=user).order_by("-stripe_created", "-id")
