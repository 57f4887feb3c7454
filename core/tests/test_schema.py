import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_openapi_schema_lists_the_endpoints():
    response = APIClient().get("/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/auth/login/", "/auth/user/", "/auth/csrf-token/", "/core/plans/", "/core/health/"):
        assert path in paths


def test_root_redirects_to_swagger_ui():
    response = APIClient().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"
    assert APIClient().get("/api/docs/").status_code == 200


def test_schema_documents_bearer_and_cookie_authentication():
    schema = APIClient().get("/schema/", HTTP_ACCEPT="application/json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtHeaderAuth"]["scheme"] == "bearer"
    assert schemes["jwtCookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "access-token"}
