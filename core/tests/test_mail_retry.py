"""An account mail whose mail server is down is tried again, as often as ACCOUNT_MAIL_MAX_RETRIES says."""

import smtplib
import socket
import threading

import pytest

from core.tasks import send_password_reset_mail
from core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class RefusingMailServer:
    """A TCP server that hangs up on every connection, as a mail server that is going down does: smtplib
    raises SMTPServerDisconnected. Counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def refusing_mail_server(settings):
    server = RefusingMailServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = (
        "127.0.0.1", server.port, False, 2,
    )  # fmt: skip
    yield server
    server.close()


@pytest.mark.parametrize("retries", [0, 2])
def test_a_mail_server_that_hangs_up_is_tried_again_as_often_as_the_setting_says(
    refusing_mail_server, settings, retries
):
    settings.ACCOUNT_MAIL_MAX_RETRIES = retries
    user = UserFactory.create()
    result = send_password_reset_mail.apply(kwargs={"email": user.email})
    assert refusing_mail_server.connections == retries + 1
    assert result.failed()
    assert isinstance(result.result, smtplib.SMTPServerDisconnected)
