"""GET /metrics: only with the token, never throttled; what this process counts (requests by route template,
lockouts, throttles). The sum across gunicorn's and the worker's processes is in
cv/tests/test_operations_worker.py."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from core.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db

TOKEN = "a-long-random-metrics-token"


def scrape(token: str | None = TOKEN):
    if token is None:
        return Client().get("/metrics")
    return Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def value(name: str, **labels: str) -> float:
    response = scrape()
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_are_404_while_no_token_is_set(settings):
    settings.METRICS_TOKEN = ""
    assert scrape().status_code == 404
    assert scrape(token="").status_code == 404
    assert scrape(None).status_code == 404


@pytest.mark.usefixtures("token")
def test_metrics_are_404_without_the_token_or_with_a_wrong_one():
    # The same answer as an unknown path: a stranger learns nothing, not even that the endpoint exists.
    for response in (
        scrape(None),
        scrape("wrong-token"),
        scrape(TOKEN + "x"),
        Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    ok = scrape()
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")
    assert b"cvimprover_http_requests_total" in ok.content


@pytest.mark.usefixtures("token")
def test_metrics_are_never_throttled(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/hour", "user_burst": "2/minute"},
    }
    assert [scrape().status_code for _ in range(5)] == [200] * 5
    # The anonymous rate is in force for the API meanwhile.
    statuses = [APIClient().get("/core/plans/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.usefixtures("token")
def test_requests_are_counted_by_route_template_and_status(api_client, user):
    labels = {"method": "GET", "route": "/cv/ai-responses/<pk>/", "status": "404"}
    before = value("cvimprover_http_requests_total", **labels)
    before_timed = value("cvimprover_http_request_duration_seconds_count", method="GET", route="/cv/ai-responses/<pk>/")
    for pk in (987654, 987655, 987656):
        assert api_client.get(f"/cv/ai-responses/{pk}/").status_code == 404
    assert value("cvimprover_http_requests_total", **labels) == before + 3
    assert (
        value("cvimprover_http_request_duration_seconds_count", method="GET", route="/cv/ai-responses/<pk>/")
        == before_timed + 3
    )
    text = scrape().content.decode()
    assert "987654" not in text
    # A path no pattern takes is one label, whatever the path.
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    before = value("cvimprover_http_requests_total", **unmatched)
    Client().get("/no/such/path/123")
    Client().get("/another/unknown")
    assert value("cvimprover_http_requests_total", **unmatched) == before + 2


@pytest.mark.usefixtures("token")
def test_login_lockouts_are_counted(user):
    before = value("cvimprover_login_lockouts_total", scope="account")
    for i in range(7):
        APIClient().post("/auth/login/", {"username": user.username, "password": f"guess-{i}"}, format="json")
    # Five failures are allowed; the sixth and seventh attempts are refused as locked.
    assert value("cvimprover_login_lockouts_total", scope="account") == before + 2


@pytest.mark.usefixtures("token")
def test_throttled_requests_are_counted_by_scope(settings, user, api_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/hour", "user_burst": "100/minute"},
    }
    before_anon = value("cvimprover_throttled_requests_total", scope="anon")
    assert [APIClient().get("/core/plans/").status_code for _ in range(3)] == [200, 429, 429]
    assert value("cvimprover_throttled_requests_total", scope="anon") == before_anon + 2

    user.plan = PlanFactory.create(slug="basic", api_calls_per_hour=1)
    user.save()
    before_calls = value("cvimprover_throttled_requests_total", scope="api_calls")
    assert [api_client.get("/cv/questionnaire/").status_code for _ in range(2)] == [200, 429]
    assert value("cvimprover_throttled_requests_total", scope="api_calls") == before_calls + 1
