import uuid
from decimal import Decimal
from typing import ClassVar, Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.dispatch import Signal
from django.utils import timezone

# Each quota scope and the Plan field that holds its limit: the one list of plan limits.
LIMIT_FIELD_BY_SCOPE = {
    "ai_responses": "ai_responses_per_day",
    "questionnaires": "questionnaires_per_day",
    "uploads": "uploads_per_day",
    "api_calls": "api_calls_per_hour",
}


# Sent after a queryset `update()` of plans (which sends no post_save), so caches of plans can drop them.
plans_updated = Signal()


class PlanQuerySet(models.QuerySet):
    def update(self, **kwargs):
        rows = super().update(**kwargs)
        plans_updated.send(sender=Plan)
        return rows


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
    # listing plans never calls Stripe. Amounts are in the currency's main unit (5.00, not 500), with room for
    # the three-decimal currencies (core.billing.currencies).
    monthly_amount = models.DecimalField(max_digits=11, decimal_places=3, null=True, blank=True)
    yearly_amount = models.DecimalField(max_digits=11, decimal_places=3, null=True, blank=True)
    currency = models.CharField(max_length=3, default="usd")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def price_for(self, interval: str) -> tuple[str, Decimal | None]:
        if interval == self.Interval.YEARLY:
            return self.stripe_price_yearly, self.yearly_amount
        return self.stripe_price_monthly, self.monthly_amount

    def limit_for(self, scope: str) -> int:
        return getattr(self, LIMIT_FIELD_BY_SCOPE[scope])


class User(AbstractUser):
    email = models.EmailField("email address", max_length=254)
    date_of_birth = models.DateField(null=True, blank=True)
    # Null means the Free plan (see core.plans.plan_for); a paid plan is set by the subscription.
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="users")
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    # A new random value in the same transaction as any change to a list the person reads (their
    # questionnaires), so a cached page of that list is never served after the change: the version is part
    # of the page's key. Random, not a counter: a restored or recreated database cannot meet old pages.
    lists_version = models.UUIDField(default=uuid.uuid4, editable=False)

    objects: ClassVar[UserManager[Self]] = UserManager()

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

    # db_index=False: the unique (user, scope, day) index leads with the user and serves lookups by it.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="quota_usages", db_index=False)
    scope = models.CharField(max_length=32)
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "day"], name="core_quota_usage_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.scope} {self.day}: {self.used}"


class Subscription(models.Model):
    """Our copy of a Stripe subscription, kept in sync by webhooks and by the billing endpoints."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        UNPAID = "unpaid", "Unpaid"
        PAUSED = "paused", "Paused"

    FINAL_STATUSES = (Status.CANCELED, Status.INCOMPLETE_EXPIRED)
    # Give the plan's limits (past_due only for a grace period, core.billing.sync).
    GRANTING_STATUSES = (Status.ACTIVE, Status.TRIALING)
    # Still running: a person has at most one, and it is the one they "have".
    LIVE_STATUSES = (*GRANTING_STATUSES, Status.PAST_DUE)
    # Not running, but not over either: they come before ended ones when picking the current subscription.
    STALLED_STATUSES = (Status.UNPAID, Status.PAUSED, Status.INCOMPLETE)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions")
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, db_index=True)
    interval = models.CharField(max_length=16, choices=Plan.Interval.choices, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # When we first saw it past due: the plan's limits are kept for a grace period from then.
    past_due_since = models.DateTimeField(null=True, blank=True)
    # Stripe time of the newest state applied; an older event never overwrites a newer state.
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_subscription_id} ({self.status})"


class Invoice(models.Model):
    """A Stripe invoice of a user (their payment history). Amounts are in the currency's main unit."""

    # db_index=False: the (user, -stripe_created) index leads with the user and serves lookups by it.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invoices", db_index=False)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)
    currency = models.CharField(max_length=3, default="usd")
    amount_due = models.DecimalField(max_digits=13, decimal_places=3, default=0)
    amount_paid = models.DecimalField(max_digits=13, decimal_places=3, default=0)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    stripe_created = models.DateTimeField(db_index=True)
    hosted_invoice_url = models.URLField(max_length=2000, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stripe_created", "-id"]
        indexes = [models.Index(fields=["user", "-stripe_created"], name="core_invoice_user_created")]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class StripeEvent(models.Model):
    """Every webhook Stripe sent us, stored before we answer and processed by a task.

    Unique by Stripe's event id, so a redelivered event is a no-op. A failed event keeps its error and is
    retried with exponential back-off by a beat task; an admin action processes it again."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=64, blank=True)
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField()
    payload = models.JSONField()
    # No index of its own: the (status, next_attempt_at) index below leads with it.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    note = models.CharField(max_length=255, blank=True, help_text="What processing did, or why it was ignored.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(
        null=True, blank=True, editable=False, help_text="The run that holds the event; only it may finish it."
    )
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="core_stripeevent_due")]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.status})"


class ModelCall(models.Model):
    """One answered request to the model (repair rounds and corrective retries each have their own), with
    its tokens and what it cost at the prices of its time (settings.LLM_PRICES; None: no price known). Charged
    to the job that made it, its owner and the owner's plan as they were then. Kept when the job, or the
    person, goes: it is the bill."""

    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    plan = models.CharField(max_length=50, blank=True, help_text="The owner's plan at the time ('free' for none).")
    job_kind = models.CharField(max_length=20, blank=True, help_text="analysis or cover_letter.")
    job_id = models.BigIntegerField(null=True, blank=True)
    model = models.CharField(max_length=100, help_text="The model that answered, as the server named it.")
    mode = models.CharField(max_length=16, help_text="How the answer's shape was asked for.")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True, help_text="USD.")
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="core_modelcall_created"),
            models.Index(fields=["job_kind", "job_id"], name="core_modelcall_job"),
            models.Index(fields=["user", "created_at"], name="core_modelcall_user"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.prompt_tokens}+{self.completion_tokens} tokens"
