"""The auth endpoints take JSON bodies only: an HTML form on another site (form-encoded, multipart or
text/plain, the only bodies a form can send) can never sign a browser into someone's account (login CSRF),
register one, or change anything."""

import pytest
from django.test.client import MULTIPART_CONTENT, encode_multipart
from rest_framework.test import APIClient

from core.models import User
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "/auth/registration/"),
    ("post", "/auth/login/"),
    ("post", "/auth/logout/"),
    ("post", "/auth/token/refresh/"),
    ("post", "/auth/token/verify/"),
    ("post", "/auth/password/change/"),
    ("post", "/auth/password/reset/"),
    ("post", "/auth/password/reset/confirm/"),
    ("post", "/auth/social/login/google/"),
    ("patch", "/auth/user/"),
]

FORM_BODY = {"username": "mallory", "email": "mallory@example.com", "password": TEST_PASSWORD}


def encoded(kind: str) -> tuple[str | bytes, str]:
    if kind == "urlencoded":
        return "username=mallory&email=mallory%40example.com&password=x", "application/x-www-form-urlencoded"
    if kind == "multipart":
        return encode_multipart("BoUnDaRy", FORM_BODY), MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy")
    return '{"username": "mallory"}', "text/plain"


@pytest.fixture(autouse=True)
def _google_configured(settings):
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "client-id", "client-secret"


@pytest.mark.parametrize("kind", ["urlencoded", "multipart", "text/plain"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_non_json_body_is_415(api_client, method, path, kind):
    body, content_type = encoded(kind)
    response = getattr(api_client, method)(path, body, content_type=content_type)
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_media_type"


def test_a_cross_site_form_cannot_sign_a_browser_in(user):
    browser = APIClient()
    response = browser.post(
        "/auth/login/",
        f"username={user.username}&password={TEST_PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert "access-token" not in browser.cookies
    assert browser.get("/auth/user/").status_code == 401


def test_a_cross_site_form_cannot_register_an_account():
    body = {"username": "mallory", "email": "m@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD}
    response = APIClient().post("/auth/registration/", body)  # multipart, as a browser form sends it
    assert response.status_code == 415
    assert not User.objects.filter(username="mallory").exists()


def test_json_and_bodiless_requests_still_work(user):
    client = APIClient()
    login = client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    assert login.status_code == 200
    assert client.post("/auth/token/refresh/").status_code == 200  # no body: the refresh cookie
    assert client.post("/auth/logout/").status_code == 200
