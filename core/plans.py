"""The four plans and their default limits (the quota table of docs/api.md), and which plan applies to a user."""

from dataclasses import dataclass

from core.models import LIMIT_FIELD_BY_SCOPE, Plan, User

LIMIT_FIELDS = tuple(LIMIT_FIELD_BY_SCOPE.values())


@dataclass(frozen=True)
class PlanDefaults:
    slug: str
    name: str
    order: int
    description: str
    features: tuple[str, ...]
    ai_responses_per_day: int
    questionnaires_per_day: int
    uploads_per_day: int
    api_calls_per_hour: int

    def field_values(self) -> dict:
        """The plan's texts and limits as model field values: what `seed_plans` creates and `--reset` restores."""
        return {
            "name": self.name,
            "order": self.order,
            "description": self.description,
            "features": list(self.features),
            "is_active": True,
            **{name: getattr(self, name) for name in LIMIT_FIELDS},
        }


DEFAULT_PLANS: tuple[PlanDefaults, ...] = (
    PlanDefaults(
        "free", "Free", 0, "Try CVImprover on a few applications.",
        ("3 AI analyses a day", "Match report for every analysis", "PDF export"),
        3, 5, 3, 100,
    ),
    PlanDefaults(
        "basic", "Basic", 1, "For an active job search.",
        ("20 AI analyses a day", "All PDF templates", "Payment history"),
        20, 50, 20, 300,
    ),
    PlanDefaults(
        "pro", "Pro", 2, "For people applying to many roles every week.",
        ("100 AI analyses a day", "All PDF templates", "Priority processing"),
        100, 200, 100, 600,
    ),
    PlanDefaults(
        "premium", "Premium", 3, "For career coaches and heavy users.",
        ("1000 AI analyses a day", "All PDF templates", "Highest API limits"),
        1000, 1000, 500, 1200,
    ),
)  # fmt: skip


def free_plan() -> Plan:
    """The Free plan row, created with its defaults if `seed_plans` has not run yet."""
    plan, _ = Plan.objects.get_or_create(slug=Plan.Slug.FREE, defaults=DEFAULT_PLANS[0].field_values())
    return plan


def plan_for(user: User) -> Plan:
    """The plan whose limits apply to this user: their paid plan, or Free."""
    if user.plan_id is not None and user.plan is not None and user.plan.is_active:
        return user.plan
    return free_plan()


def upgrade_for(plan: Plan) -> Plan | None:
    """The next plan up, the one to suggest when a limit is reached."""
    return Plan.objects.filter(is_active=True, order__gt=plan.order).order_by("order").first()
