"""Google sign-in against a local fake of Google's endpoints (testing/fake_google.py): signed ID tokens,
the code exchange, tokeninfo and userinfo. Only a token issued to our client id signs anyone in."""

import socket

import pytest
from allauth.socialaccount.models import SocialAccount
from rest_framework.test import APIClient

from core.models import User
from testing.fake_google import FakeGoogle, GoogleIdentity, new_signing_key
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db

CLIENT_ID = "our-client-id.apps.googleusercontent.com"
OTHER_CLIENT_ID = "another-site.apps.googleusercontent.com"
GRACE = GoogleIdentity(sub="1234567890", email="Grace@Example.com", name="Grace Hopper")
URL = "/auth/social/login/google/"


@pytest.fixture
def google(settings):
    with FakeGoogle(client_id=CLIENT_ID, client_secret="our-secret") as fake:
        settings.GOOGLE_CLIENT_ID = CLIENT_ID
        settings.GOOGLE_CLIENT_SECRET = "our-secret"
        settings.GOOGLE_API_BASE = fake.url
        settings.SOCIALACCOUNT_PROVIDERS = {
            "google": {"APPS": [{"client_id": CLIENT_ID, "secret": "our-secret", "key": ""}], "SCOPE": ["email"]}
        }
        yield fake


def sign_in(body: dict):
    return APIClient().post(URL, body, format="json")


def assert_signed_in_as(response, email: str):
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert client.get("/auth/user/").json()["email"] == email


def assert_refused(response, code: str | None = None):
    assert response.status_code == 400, response.content
    assert "access" not in response.json()
    if code:
        assert response.json()["code"] == code
    assert not User.objects.exists()


def test_id_token_for_our_client_signs_in_and_creates_the_user(google):
    response = sign_in({"id_token": google.id_token(GRACE)})
    assert_signed_in_as(response, "grace@example.com")
    assert "/oauth2/v3/certs" in google.paths()
    again = sign_in({"id_token": google.id_token(GRACE)})
    assert_signed_in_as(again, "grace@example.com")
    assert User.objects.count() == 1


def test_id_token_issued_to_another_client_is_refused(google):
    assert_refused(sign_in({"id_token": google.id_token(GRACE, aud=OTHER_CLIENT_ID)}), "google_token_audience")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda g: g.id_token(GRACE, key=new_signing_key()), id="signed-with-another-key"),
        pytest.param(lambda g: g.id_token(GRACE, kid="unknown-kid"), id="unknown-key-id"),
        pytest.param(lambda g: g.id_token(GRACE, iss="https://evil.example"), id="another-issuer"),
        pytest.param(lambda g: g.id_token(GRACE, expires_in=-120), id="expired"),
        pytest.param(lambda g: "not-a-jwt", id="garbage"),
    ],
)
def test_an_id_token_google_did_not_issue_to_us_is_refused(google, forge):
    assert_refused(sign_in({"id_token": forge(google)}), "google_token_invalid")


def test_id_token_with_an_unverified_email_is_refused(google):
    unverified = GoogleIdentity(sub="42", email="someone@example.com", email_verified=False)
    assert_refused(sign_in({"id_token": google.id_token(unverified)}), "google_email_unverified")


def test_authorization_code_signs_in(google):
    response = sign_in({"code": google.authorization_code(GRACE)})
    assert_signed_in_as(response, "grace@example.com")
    exchange = next(r for r in google.requests if r.path == "/token")
    assert exchange.params["client_id"] == CLIENT_ID
    assert exchange.params["grant_type"] == "authorization_code"


def test_a_code_google_refuses_is_a_400(google):
    code = google.authorization_code(GRACE)
    assert sign_in({"code": code}).status_code == 200
    replayed = sign_in({"code": code})
    assert replayed.status_code == 400
    assert "access" not in replayed.json()


def test_bare_access_token_for_our_client_signs_in_after_tokeninfo(google):
    response = sign_in({"access_token": google.access_token(GRACE)})
    assert_signed_in_as(response, "grace@example.com")
    assert google.paths()[:2] == ["/tokeninfo", "/oauth2/v3/userinfo"]


def test_bare_access_token_issued_to_another_site_never_signs_in(google):
    """Someone holding a token another app obtained for the victim must not become the victim here."""
    stolen = google.access_token(GRACE, client_id=OTHER_CLIENT_ID)
    assert_refused(sign_in({"access_token": stolen}), "google_token_audience")
    assert "/oauth2/v3/userinfo" not in google.paths()


def test_an_access_token_google_does_not_know_is_refused(google):
    assert_refused(sign_in({"access_token": "ya29.made-up"}), "google_token_invalid")


def test_google_unreachable_is_a_clear_503(google, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.GOOGLE_API_BASE = f"http://127.0.0.1:{s.getsockname()[1]}"
    response = sign_in({"id_token": google.id_token(GRACE)})
    assert response.status_code == 503
    assert response.json()["code"] == "google_unreachable"


def test_google_login_without_a_token_says_what_is_missing(google):
    response = sign_in({})
    assert response.status_code == 400
    assert not google.requests


def test_google_sign_in_never_enters_an_existing_account_with_the_same_email(google):
    """Someone registers a victim's address first (local emails are unverified); when the victim later signs
    in with Google, they must not land in, or be linked to, that account."""
    squatter = APIClient().post(
        "/auth/registration/",
        {"username": "mallory", "email": "victim@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        format="json",
    )
    assert squatter.status_code == 201
    victim = GoogleIdentity(sub="999", email="victim@example.com")

    response = sign_in({"id_token": google.id_token(victim)})

    assert response.status_code == 400
    assert "access" not in response.json()
    mallory = User.objects.get(username="mallory")
    assert not SocialAccount.objects.filter(user=mallory).exists()
    assert mallory.has_usable_password()


def test_googles_keys_are_fetched_once_and_kept_as_long_as_google_says(google):
    assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
    assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
    assert google.paths().count("/oauth2/v3/certs") == 1


def test_a_made_up_key_id_does_not_make_us_ask_google_again(google):
    assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
    for n in range(3):
        refused = sign_in({"id_token": google.id_token(GRACE, kid=f"made-up-{n}")})
        assert refused.status_code == 400 and refused.json()["code"] == "google_token_invalid"
    assert google.paths().count("/oauth2/v3/certs") == 1


def test_a_new_google_key_is_fetched_once_the_kept_keys_are_a_minute_old(google, monkeypatch):
    from core import adapters

    assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
    google.rotate_key()
    monkeypatch.setattr(adapters, "KEYS_REFETCH_SECONDS", 0)  # as if the keys were kept a minute ago
    assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
    assert google.paths().count("/oauth2/v3/certs") == 2


def test_with_the_cache_down_every_sign_in_fetches_the_keys_and_works(google, settings):
    from core import redis_safety
    from testing.servers import free_port

    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    redis_safety.breaker.reset()
    try:
        assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
        assert_signed_in_as(sign_in({"id_token": google.id_token(GRACE)}), "grace@example.com")
    finally:
        redis_safety.breaker.reset()
    assert google.paths().count("/oauth2/v3/certs") == 2
