from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.billing.currencies import amount_display
from core.hot_path.serializers import ModelSerializer, Serializer
from core.models import Invoice, Plan, Subscription


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d{2,3})?$", "example": "5.00"})
class AmountField(serializers.Field):
    """An amount in the main unit of the object's `currency`, with exactly that currency's decimals ("5.00" usd,
    "500" jpy, "1.250" kwd)."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        currency = instance["currency"] if isinstance(instance, dict) else instance.currency
        return super().get_attribute(instance), currency

    def to_representation(self, value):
        amount, currency = value
        return amount_display(amount, currency)


class PlanChoiceInput(Serializer):
    plan_id = serializers.IntegerField(min_value=1)
    billing = serializers.ChoiceField(choices=Plan.Interval.choices, default=Plan.Interval.MONTHLY)


class UrlOutput(Serializer):
    url = serializers.URLField()


class VerifySessionInput(Serializer):
    session_id = serializers.RegexField(r"^cs_[A-Za-z0-9_]{1,250}$", max_length=255)


class SubscriptionPlanOutput(ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "slug", "name"]


class SubscriptionOutput(ModelSerializer):
    plan = SubscriptionPlanOutput(allow_null=True)
    plan_name = serializers.SerializerMethodField()
    interval = serializers.CharField(allow_null=True)

    class Meta:
        model = Subscription
        fields = [
            "id", "plan", "plan_name", "status", "interval", "current_period_start", "current_period_end",
            "cancel_at_period_end", "canceled_at", "past_due_since",
        ]  # fmt: skip

    def get_plan_name(self, subscription: Subscription) -> str | None:
        return subscription.plan.name if subscription.plan else None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["interval"] = data["interval"] or None
        return data


class VerifySessionOutput(Serializer):
    success = serializers.BooleanField()
    subscription = SubscriptionOutput(allow_null=True)


class InvoiceOutput(ModelSerializer):
    amount = AmountField(source="amount_due")
    amount_paid = AmountField()
    created = serializers.DateTimeField(source="stripe_created")

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "amount", "amount_paid", "currency", "status", "period_start", "period_end",
            "created", "hosted_invoice_url",
        ]  # fmt: skip
