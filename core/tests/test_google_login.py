"""Google sign-in when it is configured: Google itself is outside this machine, so its HTTP answers are
faked at the `requests` edge that allauth uses."""

import pytest
import requests
from rest_framework.test import APIClient

from core.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def google_configured(settings):
    settings.GOOGLE_CLIENT_ID = "client-id"
    settings.GOOGLE_CLIENT_SECRET = "client-secret"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "client-id", "secret": "client-secret", "key": ""}], "SCOPE": ["email"]}
    }


def fake_google(monkeypatch, *, status: int = 200, payload: dict | None = None, error: Exception | None = None):
    calls = []

    def request(self, method, url, *args, **kwargs):
        calls.append(url)
        if error is not None:
            raise error
        response = requests.Response()
        response.status_code = status
        response._content = requests.compat.json.dumps(payload or {}).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = url
        return response

    monkeypatch.setattr(requests.Session, "request", request)
    return calls


def test_valid_google_access_token_signs_in_and_creates_the_user(google_configured, monkeypatch):
    calls = fake_google(
        monkeypatch,
        payload={"id": "1234", "email": "Grace@Example.com", "verified_email": True, "name": "Grace Hopper"},
    )
    response = APIClient().post("/auth/social/login/google/", {"access_token": "ya29.token"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["access"]
    assert any("googleapis.com" in url for url in calls)
    assert User.objects.filter(email__iexact="grace@example.com").exists()


def test_token_google_refuses_is_a_clear_400(google_configured, monkeypatch):
    fake_google(monkeypatch, status=401, payload={"error": "invalid_token"})
    response = APIClient().post("/auth/social/login/google/", {"access_token": "bad"}, format="json")
    assert response.status_code == 400
    assert not User.objects.exists()


def test_google_unreachable_is_a_clear_503(google_configured, monkeypatch):
    fake_google(monkeypatch, error=requests.ConnectionError("no route"))
    response = APIClient().post("/auth/social/login/google/", {"access_token": "x"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "google_unreachable"


def test_google_login_without_a_token_says_what_is_missing(google_configured):
    response = APIClient().post("/auth/social/login/google/", {}, format="json")
    assert response.status_code == 400


def test_google_sign_in_never_enters_an_existing_account_with_the_same_email(google_configured, monkeypatch):
    """Someone registers a victim's address first (local emails are unverified); when the victim later signs
    in with Google, they must not land in, or be linked to, that account."""
    from conftest import TEST_PASSWORD

    squatter = APIClient().post(
        "/auth/registration/",
        {"username": "mallory", "email": "victim@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        format="json",
    )
    assert squatter.status_code == 201
    fake_google(monkeypatch, payload={"id": "999", "email": "victim@example.com", "verified_email": True})

    response = APIClient().post("/auth/social/login/google/", {"access_token": "ya29.victim"}, format="json")

    assert response.status_code == 400
    assert "access" not in response.json()
    mallory = User.objects.get(username="mallory")
    assert not mallory.socialaccount_set.exists()
    assert mallory.has_usable_password()
