"""Guessing is bounded: failed sign-ins per account and per client address (the Django admin's too), and
password-reset mails per address, with Redis counters that fail open when Redis is down."""

import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core.tests.factories import UserFactory
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def login(identifier: dict, password: str, address: str = "127.0.0.1"):
    return APIClient().post("/auth/login/", {**identifier, "password": password}, format="json", REMOTE_ADDR=address)


def assert_locked(response):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "login_locked"
    assert body["detail"]
    reset_at = datetime.fromisoformat(body["reset_at"])
    assert timezone.now() < reset_at <= timezone.now() + timedelta(minutes=15, seconds=5)
    assert "access" not in body


def test_five_failures_lock_the_account_even_for_the_right_password(user):
    statuses = [login({"username": user.username}, f"guess-{i}").status_code for i in range(5)]
    assert statuses == [400] * 5

    locked = login({"username": user.username}, TEST_PASSWORD)
    assert_locked(locked)
    # The same account by its email, and from another address: still locked (the bound is the account's).
    again = login({"email": user.email.upper()}, TEST_PASSWORD, address="10.9.9.9")
    assert_locked(again)
    assert again.json()["reset_at"] == locked.json()["reset_at"]


def test_a_locked_account_does_not_lock_other_accounts(user, other_user):
    for i in range(6):
        login({"username": user.username}, f"guess-{i}")
    assert login({"username": other_user.username}, TEST_PASSWORD).status_code == 200


def test_a_success_resets_the_accounts_count(user):
    for round_ in range(3):
        for i in range(4):
            assert login({"username": user.username}, f"guess-{round_}-{i}").status_code == 400
        assert login({"username": user.username}, TEST_PASSWORD).status_code == 200
    assert login({"username": user.username}, "guess-x").status_code == 400


def test_unknown_accounts_answer_like_known_ones():
    statuses = [login({"username": "nobody-here"}, f"guess-{i}").status_code for i in range(6)]
    assert statuses == [400] * 5 + [429]


def test_fifty_failures_from_one_address_lock_that_address_only(settings):
    users = UserFactory.create_batch(11)
    statuses = [
        login({"username": users[i // 5].username}, f"guess-{i}", address="10.0.0.1").status_code for i in range(50)
    ]
    assert statuses == [400] * 50

    last = users[10]  # no failure against this account yet
    assert_locked(login({"username": last.username}, TEST_PASSWORD, address="10.0.0.1"))
    assert login({"username": last.username}, TEST_PASSWORD, address="10.0.0.2").status_code == 200


def test_an_addresss_own_successes_do_not_raise_its_bound(user, other_user):
    """A guesser signing into an account of their own between guesses gains no extra guesses."""
    statuses = []
    for i in range(60):
        guessed = UserFactory.build(username=f"target{i // 5}")
        statuses.append(login({"username": guessed.username}, "guess", address="10.0.0.3").status_code)
        if i % 5 == 4:
            login({"username": user.username}, TEST_PASSWORD, address="10.0.0.3")
    assert statuses.count(400) == 50
    assert statuses[50:] == [429] * 10


def test_bounds_come_from_settings(user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    assert [login({"username": user.username}, "x").status_code for _ in range(3)] == [400, 400, 429]


def test_the_admin_login_is_bounded_too(user):
    user.is_staff = user.is_superuser = True
    user.save()
    admin = Client()
    for i in range(5):
        response = admin.post("/admin/login/?next=/admin/", {"username": user.username, "password": f"guess-{i}"})
        assert response.status_code == 200  # the form again, with its error
    response = admin.post("/admin/login/?next=/admin/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in admin.session
    # One bound per account, whichever door the guesses came through.
    assert_locked(login({"username": user.username}, TEST_PASSWORD))


def test_the_admin_login_works_and_resets_the_count(user):
    user.is_staff = user.is_superuser = True
    user.save()
    for i in range(4):
        login({"username": user.username}, f"guess-{i}")
    admin = Client()
    response = admin.post("/admin/login/?next=/admin/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert [login({"username": user.username}, f"again-{i}").status_code for i in range(5)] == [400] * 5


def test_password_reset_mails_are_bounded_per_address_with_the_same_answer(user, celery_eager):
    answers = [APIClient().post("/auth/password/reset/", {"email": user.email}, format="json") for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(mail.outbox) == 3
    # Another address has its own bound.
    other = UserFactory.create()
    assert APIClient().post("/auth/password/reset/", {"email": other.email}, format="json").status_code == 200
    assert len(mail.outbox) == 4


def test_a_password_reset_lifts_the_accounts_lock(user, settings, celery_eager):
    for i in range(5):
        login({"username": user.username}, f"guess-{i}")
    assert_locked(login({"username": user.username}, TEST_PASSWORD))

    APIClient().post("/auth/password/reset/", {"email": user.email}, format="json")
    link = next(line for line in mail.outbox[0].body.splitlines() if settings.FRONTEND_URL in line).strip()
    uid, token = link.rstrip("/").split("/")[-2:]
    new = "Reset-pass-2026"
    confirm = APIClient().post(
        "/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password1": new, "new_password2": new},
        format="json",
    )
    assert confirm.status_code == 200, confirm.content

    assert login({"username": user.username}, new).status_code == 200


def _dead_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_limits_fail_open_with_a_warning_when_redis_is_down(user, settings, caplog, monkeypatch, celery_eager):
    from core import redis_safety

    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": _dead_redis_url()}}
    # The outage memory is per process: this test's outage must not outlive it.
    monkeypatch.setattr(redis_safety, "breaker", redis_safety._Breaker())
    caplog.set_level(logging.WARNING, logger="cvimprover.redis")

    statuses = [login({"username": user.username}, f"guess-{i}").status_code for i in range(6)]
    assert statuses == [400] * 6
    assert login({"username": user.username}, TEST_PASSWORD).status_code == 200
    assert APIClient().post("/auth/password/reset/", {"email": user.email}, format="json").status_code == 200
    assert len(mail.outbox) == 1
    assert any("redis unavailable" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_cannot_overtake_the_bound(live_server):
    """20 guesses at once against a real threaded server: exactly 5 passwords are checked."""
    victim = UserFactory.create()

    def guess(i):
        return requests.post(
            f"{live_server.url}/auth/login/", json={"username": victim.username, "password": f"guess-{i}"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert sorted(statuses) == [400] * 5 + [429] * 15
