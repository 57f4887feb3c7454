import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_health_reports_each_service():
    response = APIClient().get("/core/health/")
    assert response.status_code == 200
    assert response.json() == {
        "overall": "ok",
        "services": {"db": "ok", "redis": "ok", "broker": "ok", "openai": "offline"},
    }


def test_health_is_503_when_redis_is_unreachable(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = APIClient().get("/core/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["overall"] == "down"
    assert body["services"]["redis"] == "down"
    assert body["services"]["broker"] == "down"
    assert body["services"]["db"] == "ok"


def test_health_shows_a_configured_llm(settings):
    settings.OPENAI_API_KEY = "sk-test"
    assert APIClient().get("/core/health/").json()["services"]["openai"] == "configured"
