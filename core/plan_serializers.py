"""A plan as the API shows it (`/core/plans/`, the profile's plan): its limits and its prices. The plan
catalogue (core.hot_path.plan_catalogue) builds its entries with these; the profile's serializer takes them from it."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.billing.serializers import AmountField
from core.hot_path.serializers import ModelSerializer, Serializer
from core.models import Plan
from core.plans import LIMIT_FIELDS


class PriceSerializer(Serializer):
    amount = AmountField()
    currency = serializers.CharField()
    interval = serializers.ChoiceField(choices=Plan.Interval.choices)


# A plan's limits, one integer per limit field (core.models.LIMIT_FIELD_BY_SCOPE is the list).
PlanLimitsSerializer = type(
    "PlanLimitsSerializer",
    (serializers.Serializer,),
    {name: serializers.IntegerField() for name in LIMIT_FIELDS},
)


class PlanSerializer(ModelSerializer):
    limits = serializers.SerializerMethodField()
    monthly_price = serializers.SerializerMethodField()
    yearly_price = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = [
            "id", "slug", "name", "order", "description", "features", "limits",
            "monthly_price", "yearly_price", "is_current",
        ]  # fmt: skip

    @extend_schema_field(PlanLimitsSerializer)
    def get_limits(self, plan: Plan) -> dict:
        return PlanLimitsSerializer(plan).data

    def _price(self, plan: Plan, interval: str) -> dict | None:
        _price_id, amount = plan.price_for(interval)
        if plan.slug == Plan.Slug.FREE:
            # A plan that costs nothing has a price, zero, so a pricing page can show it beside the others.
            amount = Decimal("0")
        if amount is None:
            return None
        return PriceSerializer({"amount": amount, "currency": plan.currency, "interval": interval}).data

    @extend_schema_field(PriceSerializer(allow_null=True))
    def get_monthly_price(self, plan: Plan) -> dict | None:
        return self._price(plan, Plan.Interval.MONTHLY)

    @extend_schema_field(PriceSerializer(allow_null=True))
    def get_yearly_price(self, plan: Plan) -> dict | None:
        return self._price(plan, Plan.Interval.YEARLY)

    def get_is_current(self, plan: Plan) -> bool:
        current = self.context.get("current_plan")
        return current is not None and current.pk == plan.pk
