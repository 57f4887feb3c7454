"""Rate limits: the anonymous per-address rate, a signed-in person's burst rate and the plan's API calls per
hour, all counted in one Redis round trip per request, which also reads the plan catalogue's generation
(core.hot_path.plan_catalogue), so the catalogue costs the request no call of its own. A plan's hourly limit taken
from this process's copy of the catalogue is counted against only while the generation is still the copy's.

Each app says which of its views are work (`throttle_scope = WORK` on the view): those count against the
plan's API calls per hour; session and profile reads the SPA makes on every page only against the burst
rate. The anonymous and burst rates are exact sliding windows (a sorted set of request times per key, as
DRF's own throttles keep a list, but trimmed and counted inside Redis); the plan's calls are a counter per
clock hour, the period `reset_at` reports. A request refused by one limit is counted by none, so a refused
call never uses up another allowance.

DRF builds a throttle before the request exists, so every per-user decision is made in `allow_request`,
never in `__init__`/`get_rate` (the original service's bug, see docs/stack.md). With Redis down the limits are
not enforced (core.redis_safety.fail_open): reads and sign-in keep working.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django_redis import get_redis_connection
from redis.commands.core import Script
from rest_framework.throttling import BaseThrottle

from core import metrics
from core.hot_path.plan_catalogue import GENERATION_KEY, UNREAD, generation_read, generation_unknown, limit_before_token
from core.quotas import api_calls_exceeded, api_calls_key
from core.redis_safety import fail_open

# The scope of views that count against the plan's API calls per hour.
WORK = "work"
API_CALLS_TTL_MS = 3700 * 1000

# KEYS: one per limit, then a key to read. ARGV: now (ms), a unique member for this request, the value the
# limits assume the last key holds ("" for none), then per limit its kind ("log" or "count"), limit and
# window (ms). Returns {0, 0, value} when every limit allows the request (and counts it everywhere), {-1, 0,
# value} when the last key does not hold the value assumed (nothing is counted), else {index of the
# refusing key, milliseconds until it allows one more (-1 for a counter), value}; value is the last key's
# (false if it has none).
_SCRIPT = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local limits = #KEYS - 1
local value = redis.pcall('GET', KEYS[#KEYS])
if type(value) == 'table' and value.err then value = false end  -- not a string: read as missing
if ARGV[3] ~= '' and value ~= ARGV[3] then return {-1, 0, value} end
for i = 1, limits do
  local kind, limit, window = ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2]), tonumber(ARGV[3 * i + 3])
  if kind == 'log' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    if redis.call('ZCARD', KEYS[i]) >= limit then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2]
      return {i, math.max(1, tonumber(oldest) + window - now), value}
    end
  elseif tonumber(redis.call('GET', KEYS[i]) or '0') >= limit then
    return {i, -1, value}
  end
end
for i = 1, limits do
  local kind, window = ARGV[3 * i + 1], tonumber(ARGV[3 * i + 3])
  if kind == 'log' then
    redis.call('ZADD', KEYS[i], now, member)
  else
    redis.call('INCR', KEYS[i])
  end
  redis.call('PEXPIRE', KEYS[i], window)
end
return {0, 0, value}
"""


_script = Script(None, _SCRIPT.encode())  # type: ignore[arg-type]  # the client is given at each call


@dataclass(frozen=True)
class Limit:
    key: str
    kind: str  # "log": sliding window; "count": fixed period counter
    limit: int
    window_ms: int


# _take's answer when the limits assumed a catalogue generation Redis no longer holds.
STALE = -1


@fail_open(default=(0, 0, UNREAD), what="checking rate limits")
def _take(limits: list[Limit], assumed_generation: str = "") -> tuple[int, int, bytes | None]:
    """Count the request against `limits`, unless they were worked out under a catalogue generation
    (`assumed_generation`) that is no longer the current one (STALE: nothing counted). Also returns the
    generation read in the same call."""
    client = get_redis_connection("default")
    args: list[str | int] = [int(time.time() * 1000), uuid.uuid4().hex, assumed_generation]
    for limit in limits:
        args += [limit.kind, limit.limit, limit.window_ms]
    keys = [limit.key for limit in limits] + [GENERATION_KEY]
    # EVALSHA, with the script sent again only if Redis does not know it (after a restart or SCRIPT FLUSH).
    refused, wait_ms, *value = _script(keys=keys, args=args, client=client)
    return int(refused), int(wait_ms), value[0] if value else None


_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate(scope: str) -> tuple[int, int]:
    # Read at call time so THROTTLE_*_RATE settings (and test overrides) apply without restarting DRF.
    # DRF's rate format ("300/hour", "5/min"): only the first letter of the period counts.
    count, period = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")
    return int(count), _PERIOD_SECONDS[period[0]] * 1000


class RequestThrottle(BaseThrottle):
    """Every limit of docs/api.md's "Quotas and rate limits" that applies to this request, in one round trip."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        user = request.user
        if user and user.is_authenticated:
            count, window_ms = _rate("user_burst")
            limits = [Limit(f"cvimprover:rl:burst:{user.pk}", "log", count, window_ms)]
            assumed = ""
            if getattr(view, "throttle_scope", None) == WORK:
                plan_limit, assumed = _plan_api_calls(user)
                limits.append(Limit(api_calls_key(user.pk), "count", plan_limit, API_CALLS_TTL_MS))
        else:
            count, window_ms = _rate("anon")
            limits = [Limit(f"cvimprover:rl:anon:{self.get_ident(request)}", "log", count, window_ms)]
            assumed = ""
        refused, wait_ms, generation = _take(limits, assumed)
        if refused == STALE:  # the plan's limit came from a copy of an older catalogue: again, with the current
            generation_read(user, generation)
            limits[-1] = Limit(api_calls_key(user.pk), "count", _plan_api_calls(user)[0], API_CALLS_TTL_MS)
            refused, wait_ms, generation = _take(limits)
        if generation is not UNREAD:
            generation_read(user, generation)
        elif assumed:  # Redis could not be asked: nothing confirms the copy the limit came from
            generation_unknown(user)
        if refused == 0:
            return True
        if limits[refused - 1].kind == "count":
            metrics.THROTTLED.labels("api_calls").inc()
            raise api_calls_exceeded(user=user)
        metrics.THROTTLED.labels("user_burst" if user and user.is_authenticated else "anon").inc()
        self._wait = wait_ms / 1000
        return False

    def wait(self) -> float | None:
        return self._wait


def _plan_api_calls(user) -> tuple[int, str]:
    """The hourly API calls of the plan that applies to `user`, from the cached plan catalogue, and the
    catalogue generation that assumes ("" for none: see plan_catalogue.limit_before_token)."""
    from core.plans import plan_for

    limit, assumed = limit_before_token(user, "api_calls")
    return (plan_for(user).api_calls_per_hour if limit is None else limit), assumed
