"""The public plan catalogue: every active plan as `/core/plans/` and the profile show it.

Plans change rarely (an admin edit, `seed_plans`, a `price.*`/`product.*` webhook) and are read on every
page of the SPA, so each process keeps the catalogue it built, labelled with the catalogue's shared
*generation*: a random token in Redis, replaced once a change to a Plan row is committed (`Plan.save()`,
`delete()` and queryset `update()` all announce it). A process uses its copy only while the token it reads
is the one the copy was built under, so no process serves a plan after a change was committed; and a copy
is only kept when built outside a transaction, so none holds a change that was rolled back. The rate-limit
check reads the token in its own Redis round trip (`core.throttles`): a request pays no call for it. A work
request whose hourly limit comes from the catalogue (a Free user's) needs the limit before that round trip,
so it takes it from this process's copy and the round trip counts the request only if the token is still
the copy's (`limit_before_token`); otherwise the request is counted again with the current catalogue.

With Redis unreachable the token cannot be read and the catalogue is built from the database for each read.
A change made while Redis was unreachable cannot replace the token, so as a safety net a copy is also
rebuilt once it is `COPY_SECONDS` old.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_redis import get_redis_connection

from core.models import LIMIT_FIELD_BY_SCOPE, Plan, plans_updated
from core.plan_serializers import PlanSerializer
from core.redis_safety import fail_open

GENERATION_KEY = "cvimprover:plans:generation"
COPY_SECONDS = 300
# Counts this process's plan changes, so a catalogue kept on a user object is not used after one.
_generation = 0
# This process's catalogue: (the shared token, this process's count of changes, when it was built, entries).
_copy: tuple[str, int, float, list[dict[str, Any]]] | None = None
# The token has not been read for this request (as opposed to None: Redis could not be asked).
UNREAD = object()


def _build() -> list[dict[str, Any]]:
    plans = Plan.objects.filter(is_active=True).order_by("order", "id")
    entries = []
    for plan, data in zip(plans, PlanSerializer(plans, many=True).data, strict=True):
        entries.append(
            {
                "data": dict(data),
                "order": plan.order,
                "sells": {
                    interval: plan.slug == Plan.Slug.FREE or bool(plan.price_for(interval)[0])
                    for interval in Plan.Interval.values
                },
            }
        )
    return entries


@fail_open(default=None, what="reading the plan catalogue's generation")
def shared_generation(missing_read: bool = False) -> str | None:
    """The catalogue's current token, set now if Redis has none (a first start, a flushed Redis) or holds
    something else under its key. None when Redis cannot be reached. `missing_read`: the caller already
    read the key and found no token."""
    client = get_redis_connection("default")
    if not missing_read:
        try:
            token = client.get(GENERATION_KEY)
        except redis.ResponseError:  # not a string: replaced below
            token = None
        if token is not None:
            return token.decode()
    # Any new token is correct: no copy was built under it, so at worst processes rebuild once more.
    token = uuid.uuid4().hex
    client.set(GENERATION_KEY, token)
    return token


def _kept_copy() -> tuple[str, int, float, list[dict[str, Any]]] | None:
    """This process's copy, unless a plan change in this process or its age rules it out (its token is
    for the caller to check)."""
    copy = _copy
    if copy is None or copy[1] != _generation or time.monotonic() - copy[2] >= COPY_SECONDS:
        return None
    return copy


def _entries(token: str | object | None = UNREAD) -> list[dict[str, Any]]:
    global _copy
    if token is UNREAD:
        token = shared_generation()
    if token is None:  # Redis is unreachable: nothing tells whether a copy is current
        return _build()
    copy = _kept_copy()
    if copy is not None and copy[0] == token:
        return copy[3]
    local = _generation
    entries = _build()
    if not connection.in_atomic_block:  # what a transaction reads may still be rolled back
        _copy = (str(token), local, time.monotonic(), entries)
    return entries


def generation_read(user, token: bytes | None) -> None:
    """Keep on the request's user the catalogue token read with the rate limits (None: the key is missing).
    What the request took from a copy under another token (limit_before_token) is dropped."""
    try:
        read = token.decode() if token is not None else shared_generation(missing_read=True)
        if getattr(user, "_plan_catalogue_token", UNREAD) != read:
            user.__dict__.pop("_plan_catalogue", None)
        user._plan_catalogue_token = read
    except AttributeError:  # an object that takes no attributes
        pass


def generation_unknown(user) -> None:
    """Redis could not be asked for the token after all: the request reads the catalogue from the database,
    not from a copy it assumed (limit_before_token), as every read does while Redis is unreachable."""
    try:
        user.__dict__.pop("_plan_catalogue", None)
        user._plan_catalogue_token = None
    except AttributeError:  # an object that takes no attributes
        pass


def plans_catalogue(
    *, viewer=None, billing: str | None = None, current_plan_id: int | None = None
) -> list[dict[str, Any]]:
    """Active plans, cheapest first; with `billing`, only those sold with that interval (Free always is).
    `viewer`: the request's user, signed in or not, whose request may already have read the token."""
    return [
        {**entry["data"], "is_current": entry["data"]["id"] == current_plan_id}
        for entry in (_entries() if viewer is None else _entries_for(viewer))
        if billing is None or entry["sells"][billing]
    ]


def _entries_for(user) -> list[dict[str, Any]]:
    """The catalogue, looked up at most once per user object. Authentication loads the user anew for each
    request, so a request (its throttle, its quota and its profile) checks the token once, the way Django's
    ModelBackend keeps a user's permissions on the user. A plan change in this process drops it at once."""
    memo = getattr(user, "_plan_catalogue", None)
    if memo is not None and memo[0] == _generation:
        return memo[1]
    entries = _entries(getattr(user, "_plan_catalogue_token", UNREAD))
    try:
        user._plan_catalogue = (_generation, entries)
    except AttributeError:  # an object that takes no attributes
        pass
    return entries


def _current(entries: list[dict[str, Any]], user) -> dict[str, Any] | None:
    entry = next((entry for entry in entries if entry["data"]["id"] == user.plan_id), None)
    if entry is None:
        entry = next((entry for entry in entries if entry["data"]["slug"] == Plan.Slug.FREE), None)
    return entry


def current_plan_entry(user) -> dict[str, Any] | None:
    """The plan whose limits apply to `user` (their active paid plan, else Free) as the catalogue shows it,
    with `is_current`; None if no plan is seeded."""
    entry = _current(_entries_for(user), user)
    return None if entry is None else {**entry["data"], "is_current": True}


def current_plan_and_upgrade(user) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The plan that applies to `user` and the next active plan up from it (core.plans' plan_for and
    upgrade_for), as the catalogue shows them; None if no plan is seeded."""
    entries = _entries_for(user)
    current = _current(entries, user)
    if current is None:
        return None
    upgrade = next((entry["data"] for entry in entries if entry["order"] > current["order"]), None)
    return current["data"], upgrade


def current_plan_id(user) -> int | None:
    """The id of the plan whose limits apply to `user`, without a query."""
    entry = current_plan_entry(user)
    return None if entry is None else entry["id"]


def _loaded_plan(user) -> Plan | None:
    """The user's plan when it was loaded with them and is active (authentication loads it)."""
    if user.plan_id is not None and type(user).plan.is_cached(user) and user.plan.is_active:
        return user.plan
    return None


def current_limit(user, scope: str) -> int | None:
    """The limit of `scope` in the plan that applies to `user` (None if no plan is seeded): from their plan
    when it was loaded with them and is active, else from the catalogue."""
    plan = _loaded_plan(user)
    if plan is not None:
        return plan.limit_for(scope)
    entry = current_plan_entry(user)
    return None if entry is None else entry["limits"][LIMIT_FIELD_BY_SCOPE[scope]]


def limit_before_token(user, scope: str) -> tuple[int | None, str]:
    """`current_limit`, for a request that has not read the catalogue token yet and is about to (the rate
    limits): with the limit, the token it assumes, or "" if it assumed none.

    A limit from the catalogue comes from this process's copy without asking Redis, and the token returned
    is the copy's: the caller must count the request only if Redis still holds that token, in the same
    round trip that reads it, and pass what it read to `generation_read` (core.throttles does both).
    """
    assumed = ""
    copy = _kept_copy()
    # Without a copy to assume, current_limit's catalogue asks Redis for the token itself.
    if copy is not None and _loaded_plan(user) is None and getattr(user, "_plan_catalogue_token", UNREAD) is UNREAD:
        try:
            user._plan_catalogue_token = copy[0]
            assumed = copy[0]
        except AttributeError:  # an object that takes no attributes
            pass
    return current_limit(user, scope), assumed


@fail_open(default=None, what="announcing a plan change")
def _new_generation() -> None:
    get_redis_connection("default").set(GENERATION_KEY, uuid.uuid4().hex)


@receiver(plans_updated, sender=Plan, dispatch_uid="plan_catalogue_updated")
@receiver(post_save, sender=Plan, dispatch_uid="plan_catalogue_saved")
@receiver(post_delete, sender=Plan, dispatch_uid="plan_catalogue_deleted")
def _plan_changed(**kwargs: Any) -> None:
    # This process drops its copy now: its own transaction sees the change (and keeps no copy built inside
    # it). Other processes see the change once it is committed, so that is when the token is replaced.
    global _generation
    _generation += 1
    transaction.on_commit(_new_generation)
