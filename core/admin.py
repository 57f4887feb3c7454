import json
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from core.billing.currencies import amount_display
from core.costs import GROUPINGS, cost_totals, money
from core.models import Invoice, ModelCall, Plan, QuotaUsage, StripeEvent, Subscription, User
from core.plans import LIMIT_FIELDS


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "plan", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["plan", "is_active", "is_staff", "date_joined"]
    search_fields = ["username", "email", "first_name", "last_name", "stripe_customer_id"]
    list_select_related = ["plan"]
    ordering = ["-date_joined"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("CVImprover", {"fields": ("date_of_birth", "plan", "stripe_customer_id")}),
    )


def _money_column(field: str, description: str):
    """A list column showing the amount `field` with its currency's own decimals, as people read it ("5.00
    USD", "500 JPY", "1.250 KWD"), sorted by the amount."""

    @admin.display(description=description, ordering=field)
    def column(self, row) -> str:
        shown = amount_display(getattr(row, field), row.currency)
        return "-" if shown is None else f"{shown} {row.currency.upper()}"

    return column


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name", "slug", "order", "is_active", *LIMIT_FIELDS, "monthly_price", "yearly_price",
    ]  # fmt: skip
    list_editable = ["is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "slug", "stripe_price_monthly", "stripe_price_yearly", "stripe_product_id"]
    ordering = ["order"]

    monthly_price = _money_column("monthly_amount", "monthly")
    yearly_price = _money_column("yearly_amount", "yearly")


@admin.register(QuotaUsage)
class QuotaUsageAdmin(admin.ModelAdmin):
    list_display = ["user", "scope", "day", "used"]
    list_filter = ["scope", "day"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "day"


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "stripe_subscription_id", "user", "plan", "status", "interval", "current_period_end",
        "cancel_at_period_end", "past_due_since", "last_event_at",
    ]  # fmt: skip
    list_filter = ["status", "plan", "interval", "cancel_at_period_end"]
    search_fields = ["stripe_subscription_id", "stripe_customer_id", "user__username", "user__email"]
    list_select_related = ["user", "plan"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at", "last_event_at"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "stripe_invoice_id",
        "user",
        "status",
        "due",
        "paid",
        "stripe_created",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["number", "stripe_invoice_id", "user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "subscription"]
    date_hierarchy = "stripe_created"

    due = _money_column("amount_due", "amount due")
    paid = _money_column("amount_paid", "amount paid")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "type", "status", "attempts", "next_attempt_at", "received_at", "processed_at", "note"]
    list_filter = ["status", "type", "livemode"]
    search_fields = ["stripe_id", "type", "last_error", "note"]
    date_hierarchy = "received_at"
    actions = ["process_again"]
    # The payload is what Stripe signed: shown, never edited.
    readonly_fields = [
        "stripe_id", "type", "api_version", "livemode", "stripe_created", "payload_pretty", "status", "attempts",
        "last_error", "note", "next_attempt_at", "claimed_at", "received_at", "processed_at",
    ]  # fmt: skip
    exclude = ["payload"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="payload")
    def payload_pretty(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    @admin.action(description="Process again")
    def process_again(self, request, queryset):
        from core.billing.events import stripe_events_reprocess

        count = stripe_events_reprocess(event_pks=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} event(s) queued for processing.")


@admin.register(ModelCall)
class ModelCallAdmin(admin.ModelAdmin):
    """The model's bill, one row per answered request; ``totals/`` adds it up per day, person, plan or model."""

    list_display = [
        "created_at", "user", "plan", "job_kind", "job_id", "model", "mode", "prompt_tokens", "completion_tokens",
        "cost_usd", "request_id",
    ]  # fmt: skip
    list_filter = ["plan", "job_kind", "model", "mode"]
    search_fields = ["request_id", "user__username", "model"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="cost", ordering="cost")
    def cost_usd(self, row: ModelCall) -> str:
        return money(row.cost, places=6)

    def get_urls(self):
        totals = path("totals/", self.admin_site.admin_view(self.totals_view), name="core_modelcall_totals")
        return [totals, *super().get_urls()]

    def totals_view(self, request):
        """Calls, tokens and cost of the last ``days`` days per ``by``, as ``manage.py model_costs`` prints them."""
        by = request.GET.get("by") if request.GET.get("by") in GROUPINGS else "day"
        try:
            days = min(max(int(request.GET.get("days", 30)), 1), 366)
        except ValueError:
            days = 30
        rows = cost_totals(days=days, by=by)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Model cost of the last {days} day(s), by {by}",
            "rows": [(row, money(row.cost)) for row in rows],
            "total": money(sum((row.cost for row in rows), start=Decimal(0))),
            "by": by,
            "days": days,
            "groupings": GROUPINGS,
            "periods": (1, 7, 30, 90),
        }
        return TemplateResponse(request, "admin/core/modelcall/totals.html", context)
