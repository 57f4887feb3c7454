"""Account mails (password reset, address confirmation) are sent by a worker, so the request does the same work
and gives the same answer whether or not an account has the address; they name the product, not example.com;
and a changed email under mandatory verification is confirmed before it replaces the old one."""

import email
import email.policy
import os
import re
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from rest_framework.test import APIClient

from core.models import User
from core.tests.factories import UserFactory
from testing.helpers import TEST_PASSWORD, bearer_client
from testing.workers import start_worker, stop_worker

MAIL_QUEUE = f"core-test-mail-{os.getpid()}"
WAIT_SECONDS = 30
SEPARATOR = b"\n" + b"-" * 79 + b"\n"


class WorkerOutbox:
    """The mails the worker wrote (Django's file backend: one file per connection, messages split by a line)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def clear(self) -> None:
        for path in self.folder.iterdir():
            path.unlink()

    def messages(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime_ns):
            for chunk in path.read_bytes().split(SEPARATOR):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return found

    def wait_for(self, count: int) -> list[EmailMessage]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.1)
        raise AssertionError(f"the worker sent {len(self.messages())} mails within {WAIT_SECONDS} s, not {count}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


@pytest.fixture(scope="module")
def mail_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-mail")


@pytest.fixture(scope="module")
def mail_worker(django_db_setup, django_db_blocker, mail_folder, tmp_path_factory):
    with django_db_blocker.unblock():
        proc = start_worker(
            queues=MAIL_QUEUE,
            name="core-mail",
            log_path=tmp_path_factory.mktemp("core-mail-worker") / "worker.log",
            DJANGO_SETTINGS_MODULE="core.tests.mail_worker_settings",
            CORE_TEST_EMAIL_FILE_PATH=str(mail_folder),
            CORE_TEST_MAIL_QUEUE=MAIL_QUEUE,
        )
    yield proc
    stop_worker(proc)


@pytest.fixture
def worker_outbox(mail_worker, mail_folder, settings) -> WorkerOutbox:
    settings.ACCOUNT_MAIL_QUEUE = MAIL_QUEUE
    outbox = WorkerOutbox(mail_folder)
    outbox.clear()
    return outbox


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_password_reset_is_mailed_by_the_worker_and_answered_alike_for_unknown_addresses(worker_outbox, settings):
    known = UserFactory.create(email="known@example.com")

    unknown_answer = APIClient().post("/auth/password/reset/", {"email": "nobody@example.com"}, format="json")
    known_answer = APIClient().post("/auth/password/reset/", {"email": "Known@Example.com"}, format="json")

    assert unknown_answer.status_code == known_answer.status_code == 200
    assert unknown_answer.content == known_answer.content
    assert mail.outbox == []  # the request itself sent nothing
    # One worker takes the queue in order: once the known address's mail is there, the unknown one was handled.
    [message] = worker_outbox.wait_for(1)
    assert message["To"] == "known@example.com"
    assert message["Subject"] == "[CVImprover] Password Reset Email"
    body = text_of(message)
    assert "Hello from CVImprover!" in body
    assert "example.com!" not in body
    link = next(line for line in body.splitlines() if line.startswith(settings.FRONTEND_URL)).strip()
    uid, token = link.rstrip("/").split("/")[-2:]

    confirm = APIClient().post(
        "/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password1": "Reset-pass-2026", "new_password2": "Reset-pass-2026"},
        format="json",
    )
    assert confirm.status_code == 200, confirm.content
    login = APIClient().post("/auth/login/", {"username": known.username, "password": "Reset-pass-2026"}, format="json")
    assert login.status_code == 200


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_confirmation_resend_is_mailed_by_the_worker_and_answered_alike_for_unknown_addresses(
    worker_outbox, settings
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    waiting = UserFactory.create(email="waiting@example.com")
    EmailAddress.objects.create(user=waiting, email=waiting.email, primary=True, verified=False)

    resend = "/auth/registration/resend-email/"
    unknown_answer = APIClient().post(resend, {"email": "nobody@example.com"}, format="json")
    known_answer = APIClient().post(resend, {"email": waiting.email}, format="json")

    assert unknown_answer.status_code == known_answer.status_code == 200
    assert unknown_answer.content == known_answer.content
    assert mail.outbox == []
    [message] = worker_outbox.wait_for(1)
    assert message["To"] == "waiting@example.com"
    assert message["Subject"].startswith("[CVImprover] ")
    key = re.search(r"/verify-email/(?P<key>[-:\w]+)", text_of(message))
    assert key, text_of(message)

    verified = APIClient().post("/auth/registration/verify-email/", {"key": key["key"]}, format="json")
    assert verified.status_code == 200
    login = APIClient().post("/auth/login/", {"username": waiting.username, "password": TEST_PASSWORD}, format="json")
    assert login.status_code == 200, login.content


@pytest.mark.django_db
def test_a_taken_email_is_told_only_after_the_right_password(user, other_user, api_client):
    without = api_client.patch("/auth/user/", {"email": other_user.email}, format="json")
    assert without.status_code == 400
    assert without.json() == {"current_password": ["Required to change the email."]}

    wrong = api_client.patch("/auth/user/", {"email": other_user.email, "current_password": "guess"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {"current_password": ["The password is not correct."]}

    right = api_client.patch(
        "/auth/user/", {"email": other_user.email.upper(), "current_password": TEST_PASSWORD}, format="json"
    )
    assert right.status_code == 400
    assert right.json() == {"email": ["A user with this email address already exists."]}
    assert User.objects.get(pk=user.pk).email == user.email


@pytest.fixture
def mandatory(settings, celery_eager):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    settings.FRONTEND_URL = "http://spa.example.com"


@pytest.fixture
def verified_user(user):
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def sign_in(identifier: str, password: str = TEST_PASSWORD):
    field = "email" if "@" in identifier else "username"
    return APIClient().post("/auth/login/", {field: identifier, "password": password}, format="json")


def mailed_key(message) -> str:
    match = re.search(r"http://spa\.example\.com/verify-email/(?P<key>[-:\w]+)", message.body)
    assert match, message.body
    return match["key"]


@pytest.mark.django_db
def test_a_changed_email_is_confirmed_before_it_replaces_the_old_one(
    mandatory, verified_user, django_capture_on_commit_callbacks
):
    user = verified_user
    old = user.email
    with django_capture_on_commit_callbacks(execute=True):
        response = bearer_client(user).patch(
            "/auth/user/", {"email": "New.Address@Example.org", "current_password": TEST_PASSWORD}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["email"] == old

    # A confirmation for the new address; the old one still signs in, and stays the account's email.
    [message] = mail.outbox
    assert message.to == ["new.address@example.org"]
    assert message.subject.startswith("[CVImprover] ")
    assert sign_in(user.username).status_code == 200
    assert sign_in(old).status_code == 200
    assert User.objects.get(pk=user.pk).email == old
    addresses = {(a.email, a.primary, a.verified) for a in EmailAddress.objects.filter(user=user)}
    assert addresses == {(old, True, True), ("new.address@example.org", False, False)}

    confirmed = APIClient().post("/auth/registration/verify-email/", {"key": mailed_key(message)}, format="json")
    assert confirmed.status_code == 200, confirmed.content

    assert User.objects.get(pk=user.pk).email == "new.address@example.org"
    addresses = {(a.email, a.primary, a.verified) for a in EmailAddress.objects.filter(user=user)}
    assert addresses == {("new.address@example.org", True, True)}
    assert sign_in(user.username).status_code == 200
    assert sign_in("new.address@example.org").status_code == 200
    assert sign_in(old).status_code == 400


@pytest.mark.django_db
def test_a_second_change_replaces_the_first_and_its_key(mandatory, verified_user, django_capture_on_commit_callbacks):
    client = bearer_client(verified_user)
    for address in ("first@example.org", "second@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            client.patch("/auth/user/", {"email": address, "current_password": TEST_PASSWORD}, format="json")
    first, second = mail.outbox

    stale = APIClient().post("/auth/registration/verify-email/", {"key": mailed_key(first)}, format="json")
    assert stale.status_code == 404
    current = APIClient().post("/auth/registration/verify-email/", {"key": mailed_key(second)}, format="json")
    assert current.status_code == 200
    assert User.objects.get(pk=verified_user.pk).email == "second@example.org"


@pytest.mark.django_db
def test_an_address_taken_by_another_account_meanwhile_is_not_confirmed(
    mandatory, verified_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bearer_client(verified_user).patch(
            "/auth/user/", {"email": "wanted@example.org", "current_password": TEST_PASSWORD}, format="json"
        )
    UserFactory.create(email="wanted@example.org")

    response = APIClient().post("/auth/registration/verify-email/", {"key": mailed_key(mail.outbox[0])}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert User.objects.get(pk=verified_user.pk).email == verified_user.email
    assert sign_in(verified_user.username).status_code == 200


@pytest.mark.django_db
def test_without_verification_the_new_email_applies_at_once_and_nothing_is_mailed(
    user, api_client, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(
            "/auth/user/", {"email": "moved@example.org", "current_password": TEST_PASSWORD}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["email"] == "moved@example.org"
    assert mail.outbox == []
    assert sign_in("moved@example.org").status_code == 200


@pytest.mark.django_db
def test_with_optional_verification_the_new_email_applies_at_once_and_is_mailed_a_link(
    user, api_client, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(
            "/auth/user/", {"email": "moved@example.org", "current_password": TEST_PASSWORD}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["email"] == "moved@example.org"
    [message] = mail.outbox
    assert message.to == ["moved@example.org"]
    assert "/verify-email/" in message.body
    assert sign_in("moved@example.org").status_code == 200
