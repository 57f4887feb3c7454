import pytest
from rest_framework.test import APIClient

from core.models import User
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def register(email: str, username: str = "newbie"):
    return APIClient().post(
        "/auth/registration/",
        {"username": username, "email": email, "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        format="json",
    )


@pytest.mark.parametrize(
    ("email", "suggestion"),
    [
        ("ana@gmial.com", "ana@gmail.com"),
        ("ana@hotmial.com", "ana@hotmail.com"),
        ("ana@yahooo.com", "ana@yahoo.com"),
        ("ana@yaho.com", "ana@yahoo.com"),
        ("ana@outlok.com", "ana@outlook.com"),
    ],
)
def test_known_misspelling_of_a_large_provider_gets_a_suggestion(email, suggestion):
    response = register(email)
    assert response.status_code == 400
    assert response.json()["email"] == [f"Did you mean {suggestion}?"]
    assert not User.objects.filter(username="newbie").exists()


# Real providers a similarity score mistook for typos (yahoo.com.br -> yahoo.com, ymail.com -> mail.com,
# zohomail.com -> hotmail.com, ...), and the regional and smaller ones docs/api.md names.
@pytest.mark.parametrize(
    "domain",
    [
        "gmx.de", "hotmail.fr", "yahoo.co.jp", "proton.me", "yahoo.com.br", "yahoo.com.au", "hotmail.ca",
        "hotmail.co.kr", "outlook.com.au", "protonmail.ch", "ymail.com", "email.com", "zohomail.com",
    ],
)  # fmt: skip
def test_real_provider_domains_are_accepted(domain):
    response = register(f"ana@{domain}")
    assert response.status_code == 201, response.content
    assert User.objects.get(username="newbie").email == f"ana@{domain}"


def test_disposable_domain_is_refused():
    response = register("temp@mailinator.com")
    assert response.status_code == 400
    assert "Disposable" in response.json()["email"][0]
    assert not User.objects.exists()


def test_email_in_other_case_is_a_duplicate(user):
    response = register(user.email.upper())
    assert response.status_code == 400
    assert response.json()["email"] == ["A user with this email address already exists."]
    assert User.objects.count() == 1


def test_email_is_normalised_on_sign_up():
    assert register("  Ana.Lopez@Company.COM ").status_code == 201
    assert User.objects.get(username="newbie").email == "ana.lopez@company.com"


def test_profile_email_change_follows_the_same_rules(user, other_user, api_client):
    taken = api_client.patch("/auth/user/", {"email": other_user.email.upper()}, format="json")
    assert taken.status_code == 400
    typo = api_client.patch("/auth/user/", {"email": "me@gmial.com"}, format="json")
    assert typo.json()["email"] == ["Did you mean me@gmail.com?"]
    ok = api_client.patch("/auth/user/", {"email": "Me@Company.com", "current_password": TEST_PASSWORD}, format="json")
    assert ok.status_code == 200
    assert User.objects.get(pk=user.pk).email == "me@company.com"


def test_date_of_birth_in_the_future_is_refused(api_client):
    response = api_client.patch("/auth/user/", {"date_of_birth": "2999-01-01"}, format="json")
    assert response.status_code == 400
    assert "past" in response.json()["date_of_birth"][0]
