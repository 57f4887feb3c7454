"""Daily quotas (AI responses, questionnaires, uploads) and the hourly API-call counter.

A daily unit is taken with one conditional UPDATE (`used < limit`) on a row per user, scope and UTC day:
PostgreSQL re-checks the condition after a concurrent writer commits, so the last unit is taken once. The
unit is taken inside the caller's transaction, so a request that fails later gives it back by rolling back;
a job that fails after its request committed gives it back with `quota_release`.
"""

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict, cast

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django_redis import get_redis_connection

from core.exceptions import QuotaExceeded
from core.hot_path.plan_catalogue import current_limit, current_plan_and_upgrade
from core.models import LIMIT_FIELD_BY_SCOPE, Plan, QuotaUsage, User
from core.plans import plan_for, upgrade_for
from core.redis_safety import fail_open

DAILY_SCOPES = ("ai_responses", "questionnaires", "uploads")
SCOPE_LABELS = {
    "ai_responses": "AI analyses",
    "questionnaires": "questionnaires",
    "uploads": "CV uploads",
    "api_calls": "API calls",
}


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def next_daily_reset() -> dt.datetime:
    tomorrow = _today() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time.min, tzinfo=dt.UTC)


def next_hourly_reset() -> dt.datetime:
    now = timezone.now().astimezone(dt.UTC)
    return now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def _exceeded(*, plan: Plan, scope: str, limit: int, reset_at: dt.datetime) -> QuotaExceeded:
    upgrade = upgrade_for(plan)
    period = "hour" if scope == "api_calls" else "day"
    message = f"You have used all {limit} {SCOPE_LABELS[scope]} of the {plan.name} plan for this {period}."
    if upgrade is not None:
        message += f" Upgrade to {upgrade.name} for more."
    return QuotaExceeded(
        message,
        scope=scope,
        limit=limit,
        reset_at=reset_at.isoformat().replace("+00:00", "Z"),
        current_plan=plan.slug,
        upgrade_plan=(
            {"id": upgrade.id, "slug": upgrade.slug, "name": upgrade.name, "limit": upgrade.limit_for(scope)}
            if upgrade is not None
            else None
        ),
    )


# One statement, so a unit costs one round trip: PostgreSQL locks the day's row on conflict and re-checks
# `used < limit` against its latest committed value, so two parallel requests never both take the last unit.
_TAKE_UNIT = """
INSERT INTO core_quotausage (user_id, scope, day, used) VALUES (%s, %s, %s, 1)
ON CONFLICT (user_id, scope, day) DO UPDATE SET used = core_quotausage.used + 1
WHERE core_quotausage.used < %s
RETURNING used
"""

# Read on every visit of the usage meter: plain SQL, as the ORM's queryset cost several times the query.
_DAY_USAGE = "SELECT scope, used FROM core_quotausage WHERE user_id = %s AND day = %s"


def quota_consume(*, user: User, scope: str) -> dt.date:
    """Take one unit of today's `scope` quota or raise QuotaExceeded. Returns the day charged.

    Inside the caller's transaction, so a request that fails later gives the unit back by rolling back.
    """
    if scope not in DAILY_SCOPES:
        raise ValueError(f"unknown daily quota scope {scope!r}")
    limit = current_limit(user, scope)
    if limit is None:
        limit = plan_for(user).limit_for(scope)
    day = _today()
    taken = None
    if limit > 0:
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_UNIT, [user.pk, scope, day, limit])
            taken = cursor.fetchone()
    if taken is None:
        raise _exceeded(plan=plan_for(user), scope=scope, limit=limit, reset_at=next_daily_reset())
    return day


def quota_release(*, user: User | int, scope: str, day: dt.date) -> None:
    """Give back a unit taken on `day` (a failed analysis must not cost the user)."""
    user_id = user if isinstance(user, int) else user.pk
    QuotaUsage.objects.filter(user_id=user_id, scope=scope, day=day, used__gt=0).update(used=F("used") - 1)


def api_calls_key(user_id: int) -> str:
    """The Redis counter of this clock hour's work calls (counted by core.throttles.RequestThrottle)."""
    hour = timezone.now().astimezone(dt.UTC).strftime("%Y%m%d%H")
    return f"cvimprover:api_calls:{user_id}:{hour}"


def api_calls_exceeded(*, user: User) -> QuotaExceeded:
    """The 429 for a work call past the plan's hourly limit."""
    plan = plan_for(user)
    return _exceeded(plan=plan, scope="api_calls", limit=plan.api_calls_per_hour, reset_at=next_hourly_reset())


@fail_open(default=0, what="reading the API call count")
def api_calls_used(*, user: User) -> int:
    """This hour's counted calls; 0 while Redis is down (calls are not counted then either)."""
    value = get_redis_connection("default").get(api_calls_key(user.pk))
    return int(value or 0)


@dataclass(frozen=True)
class ScopeStatus:
    limit: int
    used: int
    reset_at: dt.datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def percentage_used(self) -> float:
        return round(min(self.used / self.limit, 1) * 100, 1) if self.limit else 100.0

    @property
    def status(self) -> str:
        if self.used >= self.limit:
            return "exceeded"
        if self.percentage_used >= 80:
            return "warning"
        return "ok"


class PlanRef(TypedDict):
    id: int
    slug: str
    name: str


class UpgradeRecommendation(TypedDict):
    recommended: bool
    plan: PlanRef
    reason: str


class QuotaStatus(TypedDict):
    """What the rate-limit status endpoint reports, before the scopes are serialized."""

    plan: PlanRef
    scopes: dict[str, ScopeStatus]
    upgrade: UpgradeRecommendation | None


def _ref(plan: dict | Plan | None) -> PlanRef | None:
    if plan is None:
        return None
    if isinstance(plan, Plan):
        return {"id": plan.id, "slug": plan.slug, "name": plan.name}
    return {"id": plan["id"], "slug": plan["slug"], "name": plan["name"]}


def _applying_plan(user: User) -> tuple[PlanRef, dict[str, int], PlanRef | None]:
    """The plan whose limits apply to `user` (plan_for), its limit by scope, and the next plan up
    (upgrade_for): from the catalogue when it holds that plan, else from the database (an inactive Free
    plan, a plan this process's copy does not have yet)."""
    found = current_plan_and_upgrade(user)
    if found is not None and _is_applying(user, found[0]):
        plan, upgrade = found
        limits = {scope: plan["limits"][field] for scope, field in LIMIT_FIELD_BY_SCOPE.items()}
        return cast(PlanRef, _ref(plan)), limits, _ref(upgrade)
    row = plan_for(user)
    return (
        cast(PlanRef, _ref(row)),
        {scope: row.limit_for(scope) for scope in LIMIT_FIELD_BY_SCOPE},
        _ref(upgrade_for(row)),
    )


def _is_applying(user: User, entry: dict) -> bool:
    """Whether the catalogue's answer is the plan plan_for would give, without a query."""
    if entry["id"] == user.plan_id:
        return True  # their own plan, and active: the catalogue holds only active plans
    if entry["slug"] != Plan.Slug.FREE:
        return False
    # Free applies to someone without a plan, or whose plan (loaded with them) is no longer active.
    if user.plan_id is None:
        return True
    return type(user).plan.is_cached(user) and user.plan is not None and not user.plan.is_active


def quota_status_for(*, user: User) -> QuotaStatus:
    plan, limits, upgrade = _applying_plan(user)
    with connection.cursor() as cursor:
        cursor.execute(_DAY_USAGE, [user.pk, _today()])
        usages = dict(cursor.fetchall())
    scopes = {
        scope: ScopeStatus(limit=limits[scope], used=usages.get(scope, 0), reset_at=next_daily_reset())
        for scope in DAILY_SCOPES
    }
    scopes["api_calls"] = ScopeStatus(
        limit=limits["api_calls"], used=api_calls_used(user=user), reset_at=next_hourly_reset()
    )
    pressed = [scope for scope, s in scopes.items() if s.status != "ok"]
    recommendation: UpgradeRecommendation | None = None
    if upgrade is not None:
        recommendation = {
            "recommended": bool(pressed),
            "plan": upgrade,
            "reason": (
                f"You are close to or at your limit for {', '.join(SCOPE_LABELS[s] for s in pressed)}."
                if pressed
                else "Your current limits fit your usage."
            ),
        }
    return {"plan": plan, "scopes": scopes, "upgrade": recommendation}
