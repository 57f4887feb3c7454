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
# Counts this process's plan changes, so a catalogue kept on a user object is not used after one.
_generation = 0


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


def _entries_for(user) -> list[dict[str, Any]]:
    """The catalogue, read at most once per user object. Authentication loads the user anew for each request,
    so a request (its throttle, its quota and its profile) reads the shared cache once, the way Django's
    ModelBackend keeps a user's permissions on the user. A plan change in this process drops it at once."""
    memo = getattr(user, "_plan_catalogue", None)
    if memo is not None and memo[0] == _generation:
        return memo[1]
    entries = _entries()
    try:
        user._plan_catalogue = (_generation, entries)
    except AttributeError:  # AnonymousUser and other objects that take no attributes
        pass
    return entries


def current_plan_entry(user) -> dict[str, Any] | None:
    """The plan whose limits apply to `user` (their active paid plan, else Free) as the catalogue shows it,
    with `is_current`; None if no plan is seeded."""
    entries = _entries_for(user)
    entry = next((entry for entry in entries if entry["data"]["id"] == user.plan_id), None)
    if entry is None:
        entry = next((entry for entry in entries if entry["data"]["slug"] == Plan.Slug.FREE), None)
    return None if entry is None else {**entry["data"], "is_current": True}


def current_plan_id(user) -> int | None:
    """The id of the plan whose limits apply to `user`, without a query."""
    entry = current_plan_entry(user)
    return None if entry is None else entry["id"]


def current_limit(user, scope: str) -> int | None:
    """The limit of `scope` in the plan that applies to `user` (None if no plan is seeded): from their plan
    when it was loaded with them and is active (authentication loads it), else from the catalogue."""
    if user.plan_id is not None and type(user).plan.is_cached(user) and user.plan.is_active:
        return user.plan.limit_for(scope)
    entry = current_plan_entry(user)
    return None if entry is None else entry["limits"][LIMIT_FIELD_BY_SCOPE[scope]]


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
    global _generation
    _generation += 1
    _drop()
    if not created:
        transaction.on_commit(_drop)
