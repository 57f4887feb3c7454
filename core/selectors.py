from django.db.models import QuerySet

from core.models import Plan


def plans_list(*, billing: str | None = None) -> QuerySet[Plan]:
    plans = Plan.objects.filter(is_active=True).order_by("order", "id")
    if billing == Plan.Interval.MONTHLY:
        plans = plans.filter(monthly_amount__isnull=False).exclude(stripe_price_monthly="")
    elif billing == Plan.Interval.YEARLY:
        plans = plans.filter(yearly_amount__isnull=False).exclude(stripe_price_yearly="")
    return plans
