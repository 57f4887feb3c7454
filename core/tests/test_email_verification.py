"""ACCOUNT_EMAIL_VERIFICATION=mandatory: the new account signs in once the SPA posted back the key of the
mailed link; until then sign-in says why. The link can be sent again."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://spa\.example\.com/verify-email/(?P<key>[-:\w]+)")


@pytest.fixture
def mandatory(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    settings.FRONTEND_URL = "http://spa.example.com"


def register(client: APIClient):
    body = {"username": "vera", "email": "vera@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD}
    return client.post("/auth/registration/", body, format="json")


def login(client: APIClient):
    return client.post("/auth/login/", {"username": "vera", "password": TEST_PASSWORD}, format="json")


def mailed_key(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match["key"]


def test_a_new_account_signs_in_after_posting_the_mailed_key(mandatory):
    client = APIClient()

    response = register(client)
    assert response.status_code == 201, response.content
    assert "access" not in response.json()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["vera@example.com"]
    key = mailed_key(mail.outbox[0])

    response = login(client)
    assert response.status_code == 400
    assert "not verified" in str(response.json()).lower()

    response = client.post("/auth/registration/verify-email/", {"key": key}, format="json")
    assert response.status_code == 200, response.content

    response = login(client)
    assert response.status_code == 200, response.content
    assert response.json()["access"]


def test_a_wrong_key_is_a_clear_4xx_and_verifies_nothing(mandatory):
    client = APIClient()
    assert register(client).status_code == 201

    response = client.post("/auth/registration/verify-email/", {"key": "not-a-key"}, format="json")
    assert response.status_code == 404
    assert login(client).status_code == 400


def test_the_link_can_be_sent_again_and_the_new_one_works(mandatory, celery_eager):
    client = APIClient()
    assert register(client).status_code == 201
    mail.outbox.clear()
    cache.clear()  # three minutes later: the sign-up mail's cooldown is over

    response = client.post("/auth/registration/resend-email/", {"email": "Vera@Example.com"}, format="json")
    assert response.status_code == 200, response.content
    assert len(mail.outbox) == 1
    key = mailed_key(mail.outbox[0])

    assert client.post("/auth/registration/verify-email/", {"key": key}, format="json").status_code == 200
    assert login(client).status_code == 200


def test_resending_to_an_unknown_address_answers_the_same_and_sends_nothing(mandatory):
    response = APIClient().post("/auth/registration/resend-email/", {"email": "nobody@example.com"}, format="json")
    assert response.status_code == 200
    assert mail.outbox == []


def test_without_verification_sign_up_signs_in_at_once(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    client = APIClient()
    assert register(client).status_code == 201
    assert login(client).status_code == 200


def test_resending_is_bounded_per_address(mandatory, celery_eager):
    client = APIClient()
    assert register(client).status_code == 201
    mail.outbox.clear()
    cache.clear()
    for _ in range(5):
        response = client.post("/auth/registration/resend-email/", {"email": "vera@example.com"}, format="json")
        assert response.status_code == 200
    assert len(mail.outbox) == 1


def test_the_schema_documents_both_endpoints():
    paths = APIClient().get("/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("/auth/registration/verify-email/", "/auth/registration/resend-email/"):
        assert "200" in paths[path]["post"]["responses"]
        assert "201" not in paths[path]["post"]["responses"]
