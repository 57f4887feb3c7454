"""Billing reads. None of them calls Stripe."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from core.models import Invoice, Subscription, User

# The subscription a user "has": a live one before an ended one, then the newest.
_LIVE_FIRST = Case(
    When(status__in=["active", "trialing", "past_due"], then=Value(0)),
    When(status__in=["unpaid", "paused", "incomplete"], then=Value(1)),
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


def subscription_summary_for(*, user: User) -> dict | None:
    """What `/auth/user/` shows about the subscription: one query, no Stripe call."""
    subscription = (
        Subscription.objects.filter(user=user)
        .order_by(_LIVE_FIRST, "-created_at", "-id")
        .values("status", "interval", "current_period_end", "cancel_at_period_end")
        .first()
    )
    if subscription is None:
        return None
    subscription["interval"] = subscription["interval"] or None
    return subscription


def invoices_for(*, user: User) -> QuerySet[Invoice]:
    return Invoice.objects.filter(user=user).order_by("-stripe_created", "-id")
