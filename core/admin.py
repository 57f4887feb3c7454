from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from core.models import Plan, QuotaUsage, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "plan", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["plan", "is_active", "is_staff", "date_joined"]
    search_fields = ["username", "email", "first_name", "last_name", "stripe_customer_id"]
    list_select_related = ["plan"]
    ordering = ["-date_joined"]
    fieldsets = BaseUserAdmin.fieldsets + (("CVImprover", {"fields": ("date_of_birth", "plan", "stripe_customer_id")}),)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name", "slug", "order", "is_active", "ai_responses_per_day", "questionnaires_per_day",
        "uploads_per_day", "api_calls_per_hour", "monthly_amount", "yearly_amount", "currency",
    ]  # fmt: skip
    list_editable = ["is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "slug", "stripe_price_monthly", "stripe_price_yearly", "stripe_product_id"]
    ordering = ["order"]


@admin.register(QuotaUsage)
class QuotaUsageAdmin(admin.ModelAdmin):
    list_display = ["user", "scope", "day", "used"]
    list_filter = ["scope", "day"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "day"
