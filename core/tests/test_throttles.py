import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from core.models import Plan
from core.tests.factories import PlanFactory
from core.throttles import WORK

pytestmark = pytest.mark.django_db


def test_work_calls_count_against_the_plans_hourly_limit(user, api_client):
    user.plan = PlanFactory.create(slug="basic", api_calls_per_hour=4)
    user.save()
    PlanFactory.create(slug="pro", order=2)
    statuses = [api_client.get("/cv/questionnaire/").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = api_client.get("/pdf/documents/").json()
    assert refused["code"] == "quota_exceeded"
    assert refused["limit"] == 4
    assert refused["upgrade_plan"]["slug"] == "pro"
    # Refused calls were not counted: the status shows the plan's limit, not more.
    assert api_client.get("/core/rate-limits/status/").json()["scopes"]["api_calls"]["used"] == 4


def test_session_reads_do_not_use_up_api_calls(user, api_client):
    limits = {"ai_responses_per_day": 3, "questionnaires_per_day": 5, "uploads_per_day": 3, "api_calls_per_hour": 2}
    Plan.objects.update_or_create(slug="free", defaults={"name": "Free", **limits})
    for _ in range(5):
        assert api_client.get("/auth/user/").status_code == 200
        assert api_client.get("/core/rate-limits/status/").status_code == 200
    assert api_client.get("/cv/questionnaire/").status_code == 200
    body = api_client.get("/core/rate-limits/status/").json()
    assert body["scopes"]["api_calls"]["used"] == 1


def test_billing_reads_are_not_work_calls_but_writes_are(user, api_client):
    user.plan = PlanFactory.create(slug="basic", api_calls_per_hour=1)
    user.save()
    assert api_client.get("/core/subscription/").status_code == 404  # no subscription, not throttled
    assert api_client.get("/core/subscription/").status_code == 404
    assert api_client.post("/core/subscription/cancel/").status_code != 429
    assert api_client.post("/core/subscription/cancel/").status_code == 429


def test_signed_in_burst_is_a_sliding_window_refused_with_retry_after(settings, api_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100/hour", "user_burst": "3/minute"},
    }
    statuses = [api_client.get("/auth/user/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api_client.get("/auth/user/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60


def _views(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _views(pattern, route)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            yield route, view


def test_every_work_endpoint_counts_against_the_plans_api_calls():
    """The CV and PDF apps are all work (docs/api.md); a new view there that forgets its scope fails here."""
    checked = 0
    for route, view in _views(get_resolver()):
        if (
            route.startswith(("cv/", "api/", "pdf/"))
            and view is not None
            and view.__module__.startswith(("cv.", "pdf."))
        ):
            assert getattr(view, "throttle_scope", None) == WORK, route
            checked += 1
    assert checked >= 8


def test_anonymous_callers_are_throttled_per_ip(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/hour", "user_burst": "100/minute"},
    }
    statuses = [APIClient().get("/core/plans/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert APIClient().get("/core/health/").status_code == 200  # never throttled
