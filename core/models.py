from decimal import Decimal

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class Plan(models.Model):
    """A plan people can subscribe to. Its limits are data (editable in the admin), not code."""

    class Slug(models.TextChoices):
        FREE = "free", "Free"
        BASIC = "basic", "Basic"
        PRO = "pro", "Pro"
        PREMIUM = "premium", "Premium"

    class Interval(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        YEARLY = "yearly", "Yearly"

    slug = models.SlugField(max_length=32, unique=True, choices=Slug.choices)
    name = models.CharField(max_length=64)
    order = models.PositiveSmallIntegerField(default=0, help_text="Position in listings, cheapest first.")
    description = models.TextField(blank=True)
    features = models.JSONField(default=list, blank=True, help_text="A list of short feature strings.")
    is_active = models.BooleanField(default=True)

    ai_responses_per_day = models.PositiveIntegerField()
    questionnaires_per_day = models.PositiveIntegerField()
    uploads_per_day = models.PositiveIntegerField()
    api_calls_per_hour = models.PositiveIntegerField()

    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_monthly = models.CharField(max_length=255, blank=True)
    stripe_price_yearly = models.CharField(max_length=255, blank=True)
    # Stored copies of the Stripe prices (kept in sync by seed_plans --sync-stripe and price webhooks), so
    # listing plans never calls Stripe. Amounts are in the currency's main unit (5.00, not 500).
    monthly_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    yearly_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="usd")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def price_for(self, interval: str) -> tuple[str, Decimal | None]:
        if interval == self.Interval.YEARLY:
            return self.stripe_price_yearly, self.yearly_amount
        return self.stripe_price_monthly, self.monthly_amount

    def limit_for(self, scope: str) -> int:
        return {
            "ai_responses": self.ai_responses_per_day,
            "questionnaires": self.questionnaires_per_day,
            "uploads": self.uploads_per_day,
            "api_calls": self.api_calls_per_hour,
        }[scope]


class User(AbstractUser):
    email = models.EmailField("email address", max_length=254)
    date_of_birth = models.DateField(null=True, blank=True)
    # Null means the Free plan (see core.plans.plan_for); a paid plan is set by the subscription.
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="users")
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="core_user_email_ci_unique",
                violation_error_message="A user with this email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.username


class QuotaUsage(models.Model):
    """How many units of a daily quota a user has taken on one (UTC) day.

    Taking a unit is one conditional UPDATE (`used < limit`), so two parallel requests can never both take
    the last unit; a failed job gives its unit back.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="quota_usages")
    scope = models.CharField(max_length=32)
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "day"], name="core_quota_usage_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.scope} {self.day}: {self.used}"
