"""Using Redis (cache, counters, locks, the Celery broker) without letting an outage break what does not need it.

Two kinds of Redis work, and one rule for each:

- *Fail open*: a rate limit or a counter that only protects the service. When Redis is down the check is
  skipped (logged once per outage as a warning) and the request goes on: sign-in, profile, plans and list
  reads keep working. Use ``@fail_open(default=..., what=...)`` on a small function that talks to Redis, or
  the ``default`` cache, whose backend (``FailOpenRedisCache``) does the same for every cache call (DRF's
  throttles and allauth's rate limits go through it).
- *Required*: work that cannot be done correctly without Redis (a per-person lock, queueing a job). It
  answers ``503 service_unavailable`` and must leave nothing half-saved. Use ``with required(what=...)`` around
  the Redis calls, and ``send_task`` to queue a Celery task.

After a failure, Redis is not asked again for ``RETRY_INTERVAL`` seconds in this process, so a Redis that
does not answer at all costs one timeout per interval instead of one per call; after that the next call
tries again, which is how the service recovers by itself when Redis is back (redis-py's pool reconnects).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import kombu.exceptions
import redis
from celery import current_app
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis.cache import RedisCache

from core.exceptions import ServiceUnavailable

logger = logging.getLogger("cvimprover.redis")

RETRY_INTERVAL = 3.0
# What an unreachable, restarting or refusing Redis raises: redis-py's errors (connection, timeout, loading,
# read-only replica, out of memory), kombu's wrapper of them when publishing, and bare socket errors.
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, kombu.exceptions.OperationalError, OSError)

P = ParamSpec("P")
R = TypeVar("R")


class RedisUnavailable(ServiceUnavailable):
    default_detail = "This action is temporarily unavailable (a service it needs is down). Please try again shortly."


class _Breaker:
    """Per-process memory of a Redis failure: skip Redis for a short while instead of waiting on it each call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._down = False

    def is_open(self) -> bool:
        return time.monotonic() < self._retry_at

    def failed(self, exc: BaseException, what: str) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RETRY_INTERVAL
            first = not self._down
            self._down = True
        if first:
            logger.warning(
                "redis unavailable (%s while doing: %s): rate limits are not enforced and work that needs "
                "Redis answers 503 until it is back",
                type(exc).__name__,
                what,
            )

    def reset(self) -> None:
        with self._lock:
            self._down, self._retry_at = False, 0.0

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down, self._retry_at = self._down, False, 0.0
            if was_down:
                logger.info("redis is reachable again")


breaker = _Breaker()


@receiver(setting_changed)
def _forget_failures_of_a_replaced_redis(*, setting: str, **kwargs: Any) -> None:
    # Another cache configuration (tests override it) is another Redis: its past failures say nothing.
    if setting == "CACHES":
        breaker.reset()


def fail_open(*, default: Any, what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function that talks to Redis: on a Redis failure it returns ``default`` instead of raising."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if breaker.is_open():
                return default
            try:
                result = func(*args, **kwargs)
            except REDIS_ERRORS as exc:
                breaker.failed(exc, what)
                return default
            breaker.succeeded()
            return result

        return wrapper

    return decorate


@contextlib.contextmanager
def required(*, what: str) -> Iterator[None]:
    """Run Redis calls that the request cannot do without: a Redis failure becomes a 503 (RedisUnavailable)."""
    if breaker.is_open():
        raise RedisUnavailable()
    try:
        yield
    except REDIS_ERRORS as exc:
        breaker.failed(exc, what)
        raise RedisUnavailable() from exc
    breaker.succeeded()


# Delete the key only if it still holds our token: a lock that expired and was taken by someone else stays theirs.
_RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


@contextlib.contextmanager
def exclusive(key: str, *, ttl_seconds: float, busy: Callable[[], Exception], what: str) -> Iterator[None]:
    """Hold a Redis lock on ``key`` (SET NX with an expiry) for the block, or raise ``busy()`` if someone holds it.

    The expiry frees the lock even if this process dies. No Redis: RedisUnavailable (503), nothing run.
    """
    from django_redis import get_redis_connection

    token = uuid.uuid4().hex
    with required(what=what):
        client = get_redis_connection("default")
        taken = client.set(key, token, nx=True, px=max(int(ttl_seconds * 1000), 1))
    if not taken:
        raise busy()
    try:
        yield
    finally:
        try:
            client.eval(_RELEASE_SCRIPT, 1, key, token)
        except REDIS_ERRORS as exc:
            # Redis went away meanwhile: the lock expires by itself after ttl_seconds.
            breaker.failed(exc, f"releasing {what}")


def send_task(task, args: tuple, **options: Any) -> None:
    """Queue a Celery task (the task, or the name it is registered under), or raise RedisUnavailable (503)
    if the broker cannot take it. By its name, the code that queues a task need not import the task's
    module, which imports that code to do the work.

    Celery retries the publish briefly (CELERY_TASK_PUBLISH_RETRY_POLICY) and reconnects its producer pool
    by itself once the broker is back.
    """
    if isinstance(task, str):
        task = current_app.tasks[task]
    try:
        task.apply_async(args, **options)
    except REDIS_ERRORS as exc:
        logger.warning("broker unavailable: could not queue %s (%s)", task.name, type(exc).__name__)
        raise RedisUnavailable() from exc


def _fallback_default(args: tuple, kwargs: dict) -> Any:
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class FailOpenRedisCache(RedisCache):
    """django-redis's cache, failing open: with Redis down a read misses, a write is dropped and ``add``
    succeeds, so a cache-backed rate limit lets the request through instead of answering 500."""

    def _fail_open(self, name: str, fallback: Callable[[tuple, dict], Any], *args: Any, **kwargs: Any) -> Any:
        if breaker.is_open():
            return fallback(args, kwargs)
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except REDIS_ERRORS as exc:
            breaker.failed(exc, f"cache {name}")
            return fallback(args, kwargs)
        breaker.succeeded()
        return result

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("get", _fallback_default, *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("get_many", lambda a, k: {}, *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("has_key", lambda a, k: False, *args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        # allauth takes a short lock with add(); "taken" lets the request go on instead of spinning for a second.
        return self._fail_open("add", lambda a, k: True, *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("set", lambda a, k: False, *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("set_many", lambda a, k: [], *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("touch", lambda a, k: False, *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("delete", lambda a, k: False, *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_open("delete_many", lambda a, k: 0, *args, **kwargs)
