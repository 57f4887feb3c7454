"""Sessions end when they should: a new password ends every other session, the email (where resets go)
changes only with the password, and the tokens of a deleted account are a 401, never a 500."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.models import User
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-Secret-77"


def sign_in(user, client: APIClient | None = None) -> tuple[APIClient, dict]:
    client = client or APIClient()
    response = client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return client, response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refresh(token: str):
    return APIClient().post("/auth/token/refresh/", {"refresh": token}, format="json")


def change_password(client: APIClient, **extra):
    body = {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    return client.post("/auth/password/change/", body, format="json", **extra)


def test_password_change_ends_every_other_session_and_keeps_the_bearer_caller_signed_in(user):
    _, laptop = sign_in(user)
    _, phone = sign_in(user)
    rotated = refresh(phone["refresh"])
    assert rotated.status_code == 200
    phone_refresh = rotated.json()["refresh"]

    response = change_password(bearer(laptop["access"]))

    assert response.status_code == 200, response.content
    fresh = response.json()
    assert fresh["access"] and fresh["refresh"]
    # Every token taken before the change is dead, the caller's own included...
    for access in (laptop["access"], phone["access"]):
        old = bearer(access).get("/auth/user/")
        assert old.status_code == 401
    for token in (laptop["refresh"], phone_refresh):
        assert refresh(token).status_code == 401
    # ...and the fresh pair works: the caller stays signed in.
    assert bearer(fresh["access"]).get("/auth/user/").json()["username"] == user.username
    renewed = refresh(fresh["refresh"])
    assert renewed.status_code == 200
    assert bearer(renewed.json()["access"]).get("/auth/user/").status_code == 200


def test_password_change_keeps_the_cookie_caller_signed_in(user):
    browser = APIClient(enforce_csrf_checks=True)
    csrf = browser.get("/auth/csrf-token/").json()["csrfToken"]
    sign_in(user, browser)
    _, other = sign_in(user)

    response = change_password(browser, HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 200, response.content
    assert browser.cookies["access-token"].value == response.json()["access"]
    assert browser.cookies["access-token"]["httponly"]
    assert browser.get("/auth/user/").status_code == 200
    assert browser.post("/auth/token/refresh/", {}, format="json", HTTP_X_CSRFTOKEN=csrf).status_code == 200
    assert browser.get("/auth/user/").status_code == 200
    assert bearer(other["access"]).get("/auth/user/").status_code == 401
    assert refresh(other["refresh"]).status_code == 401


def test_a_password_set_anywhere_else_also_ends_the_sessions(user):
    """An admin (or a shell) setting a new password: no view blacklisted anything, yet the tokens issued under
    the old password are refused, access and refresh alike."""
    _, tokens = sign_in(user)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert bearer(tokens["access"]).get("/auth/user/").status_code == 401
    assert refresh(tokens["refresh"]).status_code == 401


def test_password_change_with_a_wrong_old_password_ends_nothing(user):
    _, tokens = sign_in(user)
    response = bearer(tokens["access"]).post(
        "/auth/password/change/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 400
    assert "old_password" in response.json()
    assert bearer(tokens["access"]).get("/auth/user/").status_code == 200
    assert refresh(tokens["refresh"]).status_code == 200


def test_password_reset_ends_every_session(user, settings, celery_eager):
    _, tokens = sign_in(user)
    assert APIClient().post("/auth/password/reset/", {"email": user.email}, format="json").status_code == 200
    link = next(line for line in mail.outbox[0].body.splitlines() if settings.FRONTEND_URL in line).strip()
    uid, token = link.rstrip("/").split("/")[-2:]

    response = APIClient().post(
        "/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert bearer(tokens["access"]).get("/auth/user/").status_code == 401
    assert refresh(tokens["refresh"]).status_code == 401
    verify = APIClient().post("/auth/token/verify/", {"token": tokens["access"]}, format="json")
    assert verify.status_code == 401
    login = APIClient().post("/auth/login/", {"username": user.username, "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 200


def test_changing_the_email_needs_the_current_password(user, api_client):
    missing = api_client.patch("/auth/user/", {"email": "new@company.com"}, format="json")
    assert missing.status_code == 400
    assert list(missing.json()) == ["current_password"]
    wrong = api_client.patch("/auth/user/", {"email": "new@company.com", "current_password": "guess"}, format="json")
    assert wrong.status_code == 400
    assert list(wrong.json()) == ["current_password"]
    assert User.objects.get(pk=user.pk).email == user.email

    ok = api_client.patch("/auth/user/", {"email": "New@Company.com", "current_password": TEST_PASSWORD}, format="json")
    assert ok.status_code == 200, ok.content
    assert "current_password" not in ok.json()
    assert User.objects.get(pk=user.pk).email == "new@company.com"


def test_other_profile_fields_and_the_same_email_need_no_password(user, api_client):
    response = api_client.patch("/auth/user/", {"first_name": "Ada", "email": user.email.upper()}, format="json")
    assert response.status_code == 200, response.content
    assert User.objects.get(pk=user.pk).first_name == "Ada"


@pytest.fixture
def deleted_users_tokens(user):
    client, tokens = sign_in(user, APIClient(enforce_csrf_checks=True))
    User.objects.filter(pk=user.pk).delete()
    return client, tokens


def test_refreshing_a_deleted_accounts_token_is_a_401(deleted_users_tokens):
    client, tokens = deleted_users_tokens
    from_body = refresh(tokens["refresh"])
    assert from_body.status_code == 401
    assert from_body.json()["code"] == "user_not_found"
    from_cookie = client.post("/auth/token/refresh/", {}, format="json")
    assert from_cookie.status_code == 401


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_verifying_a_deleted_accounts_token_is_a_401(deleted_users_tokens, kind):
    _, tokens = deleted_users_tokens
    response = APIClient().post("/auth/token/verify/", {"token": tokens[kind]}, format="json")
    assert response.status_code == 401


def test_a_deleted_accounts_access_token_is_a_401_everywhere(deleted_users_tokens):
    client, tokens = deleted_users_tokens
    for path in ("/auth/user/", "/core/rate-limits/status/", "/cv/questionnaire/"):
        assert bearer(tokens["access"]).get(path).status_code == 401
        assert client.get(path).status_code == 401
    assert bearer(tokens["access"]).post("/auth/password/change/", {}, format="json").status_code == 401
    logout = APIClient().post("/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert logout.status_code == 200
