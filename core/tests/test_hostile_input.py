"""Input crafted to break the server gets a clear 4xx in the API's error shape."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/auth/login/", "/auth/registration/", "/cv/questionnaire/", "/cv/ai-responses/"])
def test_absurdly_nested_json_is_a_400(path, api_client):
    body = "[" * 100_000 + "]" * 100_000
    response = api_client.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_unknown_url_is_a_json_404():
    response = APIClient().get("/no/such/endpoint/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_non_ascii_digits_in_a_filter_are_a_400(api_client):
    response = api_client.get("/cv/ai-responses/", {"questionnaire": "²"})
    assert response.status_code == 400
    assert "questionnaire" in response.json()


def test_forged_x_forwarded_for_does_not_escape_the_anonymous_throttle(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/hour", "user_burst": "100/minute"},
    }
    statuses = [APIClient().get("/core/plans/", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
