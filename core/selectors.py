from django.db.models import QuerySet

from core.models import Plan, User


def plans_list(*, billing: str | None = None) -> QuerySet[Plan]:
    plans = Plan.objects.filter(is_active=True).order_by("order", "id")
    if billing == Plan.Interval.MONTHLY:
        plans = plans.filter(monthly_amount__isnull=False).exclude(stripe_price_monthly="")
    elif billing == Plan.Interval.YEARLY:
        plans = plans.filter(yearly_amount__isnull=False).exclude(stripe_price_yearly="")
    return plans


def subscription_summary_for(*, user: User) -> dict | None:
    """Status, interval, period end and cancel flag of the user's current subscription, from our database."""
    try:
        from core.billing_selectors import subscription_summary_for as billing_summary
    except ImportError:  # billing not installed yet
        return None
    return billing_summary(user=user)
