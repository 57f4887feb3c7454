import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.models import Plan
from core.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


class WorkView(APIView):
    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


def call(user, path: str, method: str = "get"):
    request = getattr(APIRequestFactory(), method)(path)
    force_authenticate(request, user=user)
    return WorkView.as_view()(request)


def test_work_calls_count_against_the_plans_hourly_limit(user):
    user.plan = PlanFactory(slug="basic", api_calls_per_hour=4)
    user.save()
    PlanFactory(slug="pro", order=2)
    statuses = [call(user, "/cv/questionnaire/").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = call(user, "/pdf/documents/")
    assert refused.data["code"] == "quota_exceeded"
    assert refused.data["limit"] == 4
    assert refused.data["upgrade_plan"]["slug"] == "pro"


def test_session_reads_do_not_use_up_api_calls(user, api_client):
    limits = {"ai_responses_per_day": 3, "questionnaires_per_day": 5, "uploads_per_day": 3, "api_calls_per_hour": 2}
    Plan.objects.update_or_create(slug="free", defaults={"name": "Free", **limits})
    for _ in range(5):
        assert api_client.get("/auth/user/").status_code == 200
        assert api_client.get("/core/rate-limits/status/").status_code == 200
    assert call(user, "/cv/questionnaire/").status_code == 200
    body = api_client.get("/core/rate-limits/status/").json()
    assert body["scopes"]["api_calls"]["used"] == 1


def test_billing_reads_are_not_work_calls_but_writes_are(user):
    user.plan = PlanFactory(slug="basic", api_calls_per_hour=1)
    user.save()
    assert call(user, "/core/subscription/").status_code == 200
    assert call(user, "/core/subscription/").status_code == 200
    assert call(user, "/core/subscription/cancel/", "post").status_code == 200
    assert call(user, "/core/subscription/cancel/", "post").status_code == 429


def test_anonymous_callers_are_throttled_per_ip(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/hour", "user_burst": "100/minute"},
    }
    statuses = [APIClient().get("/core/plans/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert APIClient().get("/core/health/").status_code == 200  # never throttled
