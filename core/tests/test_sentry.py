"""Error reports: without SENTRY_DSN the SDK is never imported; with one (here a fake Sentry on 127.0.0.1) a
crash is reported with its exception and request id, and without the request's body (a CV's text), its
cookies, credentials or local variables. Each case runs in a process of its own, as a server starts."""

import gzip
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from testing.servers import gunicorn_server
from testing.workers import ROOT

CV_TEXT = "Jane Doe, jane.doe@example.com, Senior Backend Engineer at Ledgerly since 2021"

IMPORTS = """
import sys, django
django.setup()
import cvimprover.celery, cvimprover.urls
print("sentry_sdk" in sys.modules)
"""


def _run(script: str, **env: str) -> str:
    from testing.workers import worker_env

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=worker_env(**env), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class FakeSentry:
    """Accepts envelopes as Sentry's ingest does and keeps their raw bytes."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    import brotli  # type: ignore[import-untyped]

                    body = brotli.decompress(body)
                received.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        found = []
        for body in self.bodies:
            lines = body.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.mark.django_db
def test_without_a_dsn_the_sdk_is_not_even_imported():
    assert _run(IMPORTS, SENTRY_DSN="") == "False"


@pytest.mark.django_db
def test_a_crash_is_reported_without_cv_text_or_credentials():
    with FakeSentry() as sentry:
        assert _run(IMPORTS, SENTRY_DSN=sentry.dsn) == "True"
        settings_module = "core.tests.sentry_settings"
        with gunicorn_server(workers=1, DJANGO_SETTINGS_MODULE=settings_module, SENTRY_DSN=sentry.dsn) as web:
            answer = httpx.post(
                web.url + "/crash/?token=secret-query",
                json={"resume_text": CV_TEXT},
                headers={"Authorization": "Bearer secret-jwt", "X-Request-ID": "crash-story-1"},
                cookies={"sessionid": "secret-session"},
                timeout=30,
            )
            assert answer.status_code == 500
            deadline = time.monotonic() + 15
            while not sentry.events() and time.monotonic() < deadline:
                time.sleep(0.1)
    events = sentry.events()
    assert len(events) == 1
    event = events[0]
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["value"].startswith("crashed on a CV of ")
    assert event["request"]["url"].endswith("/crash/")
    assert event["request"]["headers"]["X-Request-Id"] == "crash-story-1"
    raw = b"".join(sentry.bodies).decode()
    for secret in ("Jane Doe", "jane.doe@example.com", "Ledgerly", "secret-jwt", "secret-session", "secret-query"):
        assert secret not in raw, secret
    assert not any("vars" in frame for frame in exception["stacktrace"]["frames"])
