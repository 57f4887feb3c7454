"""Throttles. DRF builds a throttle before the request exists, so every per-user decision is made in
`allow_request`, never in `__init__`/`get_rate` (the original service's bug, see STACK.md).

All of them fail open when Redis is down (the cache backend and `api_call_take` log it and let the request
through, see core.redis_safety): a rate limit protects the service, it must not be what takes it down."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

from core.quotas import api_call_take

# Work endpoints count against the plan's API calls per hour; session and profile reads the SPA makes on
# every page only against the burst limit.
WORK_PREFIXES = ("/cv/", "/api/", "/pdf/")
BILLING_WRITE_PREFIXES = ("/core/payments/", "/core/billing/", "/core/subscription/")


def is_work_request(request) -> bool:
    path = request.path
    if path.startswith(WORK_PREFIXES):
        return True
    return request.method not in ("GET", "HEAD", "OPTIONS") and path.startswith(BILLING_WRITE_PREFIXES)


class AnonBurstThrottle(AnonRateThrottle):
    scope = "anon"

    def get_rate(self):
        # Read at call time so THROTTLE_ANON_RATE (and test overrides) apply without a restart of DRF.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]


class UserBurstThrottle(UserRateThrottle):
    scope = "user_burst"

    def allow_request(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return True
        return super().allow_request(request, view)


class PlanAPICallThrottle(BaseThrottle):
    """The plan's API calls per hour, for a signed-in user's work endpoints. Answers 429 quota_exceeded."""

    def allow_request(self, request, view):
        if not (request.user and request.user.is_authenticated) or not is_work_request(request):
            return True
        api_call_take(user=request.user)  # raises QuotaExceeded (429) past the limit
        return True
