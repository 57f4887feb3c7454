"""A body over the upload limit is refused with 413 before it is read (DESIGN: "When parts fail or input is
hostile"), checked against a real gunicorn with a raw socket, so nothing in between buffers the body."""

import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import RefreshToken

from core.tests.factories import UserFactory
from cv.models import CVQuestionnaire
from testing.servers import gunicorn_server

CV_PDF = Path(__file__).resolve().parent.parent.parent / "cv" / "tests" / "fixtures" / "jane_doe_backend.pdf"
MiB = 1024 * 1024
# Refused from the headers or while streaming: an answer in well under the time it takes to send the body.
MAX_SECONDS_TO_413 = 3.0


def _multipart(fields: dict[str, str], file_bytes: bytes, boundary: str = "cvboundary") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; filename="cv.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + file_bytes
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _chunks(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


class RawRequest:
    """Send headers and then a body from a thread while the main thread reads the answer, as a client would."""

    def __init__(self, port: int, head: str, body_chunks) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.sendall(head.encode())
        self.headers_sent_at = time.monotonic()
        self.sent = 0
        self._body = body_chunks
        self._sender = threading.Thread(target=self._send, daemon=True)
        self._sender.start()

    def _send(self) -> None:
        try:
            for chunk in self._body:
                self.sock.sendall(chunk)
                self.sent += len(chunk)
        except OSError:
            pass  # the server stopped reading and closed: exactly what a refused body should see

    def answer(self) -> tuple[int, dict, float]:
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        elapsed = time.monotonic() - self.headers_sent_at
        body = response.read()
        self._sender.join(timeout=20)
        self.sock.close()
        return response.status, json.loads(body), elapsed


def _head(*, token: str, content_type: str, length: int | None = None) -> str:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        "POST /cv/questionnaire/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n"
    )


def _files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    folder = tmp_path_factory.mktemp("request-size")
    temp = folder / "server-tmp"
    temp.mkdir()
    with django_db_blocker.unblock():
        web = gunicorn_server(workers=1, log_path=folder / "gunicorn.log", TMPDIR=str(temp))
        with web as running:
            yield running, temp


@pytest.fixture
def token(transactional_db):
    return str(RefreshToken.for_user(UserFactory()).access_token)


def _endless(piece: bytes, *, up_to: int):
    sent = 0
    while sent < up_to:
        yield piece
        sent += len(piece)


def test_declared_20_gb_body_is_413_before_any_of_it_is_read(server, token):
    web, temp = server
    head = _head(token=token, content_type="multipart/form-data; boundary=cvboundary", length=20 * 1024**3)

    request = RawRequest(web.port, head, _endless(b"A" * MiB, up_to=200 * MiB))
    status, answer, elapsed = request.answer()

    assert status == 413
    assert answer["code"] == "request_too_large"
    assert answer["max_bytes"] == settings.REQUEST_MAX_BODY_BYTES
    assert "10 MB" in answer["detail"]
    assert elapsed < MAX_SECONDS_TO_413
    assert _files_in(temp) == []
    print(f"\n413 for a declared 20 GB body after {elapsed * 1000:.0f} ms; {request.sent / MiB:.0f} MiB were sent")


def test_chunked_body_is_413_as_soon_as_it_passes_the_limit(server, token):
    web, temp = server
    head = _head(token=token, content_type="multipart/form-data; boundary=cvboundary")
    # Up to 200 MiB of chunks; the server must stop long before, at the limit.
    request = RawRequest(web.port, head, _chunks(b"%PDF-1.4\n" + b"A" * (200 * MiB), size=MiB))
    status, answer, elapsed = request.answer()

    assert status == 413
    assert answer["code"] == "request_too_large"
    assert elapsed < MAX_SECONDS_TO_413
    assert _files_in(temp) == []
    # What the kernel's buffers took on top of the limit, not the 200 MiB offered.
    assert request.sent < settings.REQUEST_MAX_BODY_BYTES + 32 * MiB
    print(f"\n413 for a chunked body after {elapsed * 1000:.0f} ms; {request.sent / MiB:.0f} MiB were sent")


def test_chunked_cv_under_the_limit_is_read_and_stored(server, token, settings):
    web, _ = server
    body, content_type = _multipart({"position": "Backend Engineer"}, CV_PDF.read_bytes())

    status, answer, _ = RawRequest(web.port, _head(token=token, content_type=content_type), _chunks(body)).answer()

    assert status == 201, answer
    assert answer["has_resume"] is True
    assert CVQuestionnaire.objects.get(pk=answer["id"]).resume_text.startswith("Jane Doe")


@pytest.mark.django_db
def test_over_the_limit_content_length_is_413_with_a_json_error(api_client):
    response = api_client.post(
        "/cv/questionnaire/",
        {"position": "Engineer"},
        format="json",
        CONTENT_LENGTH=str(settings.REQUEST_MAX_BODY_BYTES + 1),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert response["Content-Type"] == "application/json"
