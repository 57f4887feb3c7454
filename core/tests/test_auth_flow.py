"""The single-page app's whole session: CSRF token, sign-up, sign-in, profile, sign-out, with cookies."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.models import User
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def spa_client() -> tuple[APIClient, str]:
    client = APIClient(enforce_csrf_checks=True)
    response = client.get("/auth/csrf-token/")
    assert response.status_code == 200
    token = response.json()["csrfToken"]
    assert client.cookies["csrftoken"].value
    assert not client.cookies["csrftoken"]["httponly"]
    return client, token


def register(client: APIClient, token: str, **overrides):
    body = {
        "username": "jane",
        "email": "Jane.Doe@Example.com ",
        "password1": TEST_PASSWORD,
        "password2": TEST_PASSWORD,
        **overrides,
    }
    return client.post("/auth/registration/", body, format="json", HTTP_X_CSRFTOKEN=token)


def test_spa_flow_with_cookies_and_csrf():
    client, token = spa_client()

    response = register(client, token)
    assert response.status_code == 201, response.content
    assert User.objects.get(username="jane").email == "jane.doe@example.com"

    client.cookies.clear()
    client, token = spa_client()
    response = client.post(
        "/auth/login/", {"email": "JANE.DOE@example.com", "password": TEST_PASSWORD}, format="json",
        HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access"] and body["refresh"]
    assert client.cookies["access-token"]["httponly"]
    assert client.cookies["refresh-token"]["httponly"]
    refresh = body["refresh"]

    response = client.get("/auth/user/")
    assert response.status_code == 200
    profile = response.json()
    assert profile["username"] == "jane"
    assert profile["plan"]["slug"] == "free"
    assert profile["plan"]["limits"]["ai_responses_per_day"] == 3
    assert profile["subscription"] is None

    refused = client.patch("/auth/user/", {"first_name": "Janet"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert User.objects.get(username="jane").first_name == ""

    response = client.patch(
        "/auth/user/", {"first_name": "Janet", "date_of_birth": "1990-04-01"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Janet"
    assert str(User.objects.get(username="jane").date_of_birth) == "1990-04-01"

    response = client.post("/auth/logout/", {}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert client.cookies["access-token"].value == ""
    assert client.get("/auth/user/").status_code == 401

    response = APIClient().post("/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_login_by_username_and_bearer_auth(user):
    client = APIClient()
    response = client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    access = response.json()["access"]

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert bearer.get("/auth/user/").json()["email"] == user.email
    # A Bearer client is not a cookie client: no CSRF token is needed for its writes.
    assert bearer.patch("/auth/user/", {"last_name": "Smith"}, format="json").status_code == 200


def test_wrong_password_is_refused(user):
    response = APIClient().post("/auth/login/", {"username": user.username, "password": "nope"}, format="json")
    assert response.status_code == 400
    assert User.objects.get(pk=user.pk).last_login is None


def test_refresh_with_empty_body_uses_the_cookie(user):
    client = APIClient()
    client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    response = client.post("/auth/token/refresh/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["access"]


def test_token_verify(user):
    access = (
        APIClient()
        .post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
        .json()["access"]
    )
    assert APIClient().post("/auth/token/verify/", {"token": access}, format="json").status_code == 200
    assert APIClient().post("/auth/token/verify/", {"token": access + "x"}, format="json").status_code == 401


def test_logout_with_a_list_body_is_a_clear_400(api_client):
    response = api_client.post("/auth/logout/", [None, None], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_logout_blacklists_refresh_token_from_body(user):
    tokens = (
        APIClient().post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json").json()
    )
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert bearer.post("/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 200
    response = APIClient().post("/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_password_change_then_login_with_new_password(user, api_client):
    response = api_client.post(
        "/auth/password/change/",
        {"old_password": TEST_PASSWORD, "new_password1": "another-Secret-77", "new_password2": "another-Secret-77"},
        format="json",
    )
    assert response.status_code == 200, response.content
    login = APIClient().post(
        "/auth/login/", {"username": user.username, "password": "another-Secret-77"}, format="json"
    )
    assert login.status_code == 200


def test_password_reset_mail_links_to_the_spa_and_confirm_sets_password(user, settings, celery_eager):
    response = APIClient().post("/auth/password/reset/", {"email": user.email}, format="json")
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if settings.FRONTEND_URL in line).strip()
    uid, token = link.rstrip("/").split("/")[-2:]

    response = APIClient().post(
        "/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password1": "Reset-pass-2026", "new_password2": "Reset-pass-2026"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (
        APIClient()
        .post("/auth/login/", {"username": user.username, "password": "Reset-pass-2026"}, format="json")
        .status_code
        == 200
    )


def test_password_reset_for_unknown_email_does_not_reveal_it():
    response = APIClient().post("/auth/password/reset/", {"email": "nobody@example.com"}, format="json")
    assert response.status_code == 200
    assert mail.outbox == []


def test_google_login_without_credentials_is_a_clear_error():
    response = APIClient().post("/auth/social/login/google/", {"access_token": "x"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "google_login_not_configured"


def test_cors_allows_the_spa_origin_with_credentials(settings):
    origin = settings.CORS_ALLOWED_ORIGINS[0]
    preflight = APIClient().options(
        "/auth/login/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-csrftoken, authorization",
    )
    assert preflight["Access-Control-Allow-Origin"] == origin
    assert preflight["Access-Control-Allow-Credentials"] == "true"
    allowed = preflight["Access-Control-Allow-Headers"].lower()
    assert {"content-type", "x-csrftoken", "authorization"} <= {h.strip() for h in allowed.split(",")}
    error = APIClient().get("/auth/user/", HTTP_ORIGIN=origin)
    assert error.status_code == 401
    assert error["Access-Control-Allow-Origin"] == origin
    stranger = APIClient().get("/core/plans/", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in stranger


@pytest.mark.parametrize("stale", ["garbage", "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2ln"])
def test_a_stale_access_cookie_does_not_lock_the_person_out(user, stale):
    client = APIClient()
    client.cookies["access-token"] = stale
    assert client.get("/core/plans/").status_code == 200
    login = client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    assert login.status_code == 200
    assert client.get("/auth/user/").status_code == 200  # the fresh cookie replaced the stale one


def test_a_stale_access_cookie_alone_is_anonymous(user):
    client = APIClient()
    client.cookies["access-token"] = "garbage"
    response = client.get("/auth/user/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_bad_bearer_token_is_still_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = client.get("/core/plans/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_account_deleted_while_its_cookie_lives_on(user):
    client = APIClient(enforce_csrf_checks=True)
    client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    User.objects.filter(pk=user.pk).delete()
    assert client.get("/core/plans/").status_code == 200
    assert client.get("/auth/user/").status_code == 401
