"""The public plan catalogue: every active plan as `/core/plans/` and the profile show it.

Plans change rarely (an admin edit, `seed_plans`, a `price.*`/`product.*` webhook) and are read on every
page of the SPA, so the serialized catalogue is kept in the shared cache and dropped whenever a Plan row is
saved, updated or deleted (`Plan.save()`, `delete()` and queryset `update()` all announce it). A cache that
cannot be reached is skipped: the catalogue is then built from the database, as it would be on a miss.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.models import LIMIT_FIELD_BY_SCOPE, Plan, plans_updated

logger = logging.getLogger(__name__)

CACHE_KEY = "plans:catalogue:v1"
# A safety net only: every change to a plan drops the entry at once.
CACHE_SECONDS = 300


def _build() -> list[dict[str, Any]]:
    from core.serializers import PlanSerializer

    plans = Plan.objects.filter(is_active=True).order_by("order", "id")
    entries = []
    for plan, data in zip(plans, PlanSerializer(plans, many=True).data, strict=True):
        entries.append(
            {
                "data": dict(data),
                "sells": {
                    interval: plan.slug == Plan.Slug.FREE or bool(plan.price_for(interval)[0])
                    for interval in Plan.Interval.values
                },
            }
        )
    return entries


def _entries() -> list[dict[str, Any]]:
    try:
        entries = cache.get(CACHE_KEY)
    except Exception as exc:  # the cache is an optimisation: an outage must not fail a read
        logger.warning("plan catalogue cache unavailable: %s", type(exc).__name__)
        return _build()
    if entries is None:
        entries = _build()
        try:
            cache.set(CACHE_KEY, entries, CACHE_SECONDS)
        except Exception as exc:
            logger.warning("plan catalogue cache unavailable: %s", type(exc).__name__)
    return entries


def plans_catalogue(*, billing: str | None = None, current_plan_id: int | None = None) -> list[dict[str, Any]]:
    """Active plans, cheapest first; with `billing`, only those sold with that interval (Free always is)."""
    return [
        {**entry["data"], "is_current": entry["data"]["id"] == current_plan_id}
        for entry in _entries()
        if billing is None or entry["sells"][billing]
    ]


def current_plan_id(user) -> int | None:
    """The id of the plan whose limits apply to `user` (their active paid plan, else Free), without a query."""
    entries = _entries()
    ids = {entry["data"]["id"] for entry in entries}
    if user.plan_id in ids:
        return user.plan_id
    return next((entry["data"]["id"] for entry in entries if entry["data"]["slug"] == Plan.Slug.FREE), None)


def current_limit(user, scope: str) -> int | None:
    """The limit of `scope` in the plan that applies to `user`, from the catalogue (None if not seeded)."""
    current = current_plan_id(user)
    entry = plan_entry(current) if current is not None else None
    return None if entry is None else entry["limits"][LIMIT_FIELD_BY_SCOPE[scope]]


def plan_entry(plan_id: int) -> dict[str, Any] | None:
    """One active plan as the catalogue shows it (for the profile), or None if it is not in the catalogue."""
    for entry in _entries():
        if entry["data"]["id"] == plan_id:
            return {**entry["data"], "is_current": True}
    return None


def _drop() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception as exc:
        logger.warning("plan catalogue cache unavailable, entry expires in %s s: %s", CACHE_SECONDS, exc)


@receiver(plans_updated, sender=Plan, dispatch_uid="plan_catalogue_updated")
@receiver(post_save, sender=Plan, dispatch_uid="plan_catalogue_saved")
@receiver(post_delete, sender=Plan, dispatch_uid="plan_catalogue_deleted")
def _plan_changed(created: bool = False, **kwargs: Any) -> None:
    # Dropped now, so this process never serves the old plan, and again after commit, so a concurrent
    # reader that rebuilt the entry from the not-yet-committed state does not keep it. A new plan (the
    # Free plan created on first use, a plan added in the admin) is only missing until then: one drop.
    _drop()
    if not created:
        transaction.on_commit(_drop)
