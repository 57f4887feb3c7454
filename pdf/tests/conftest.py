import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pdf.tests.helpers import FIXTURES

# A line of /etc/passwd on every Linux machine: if it shows up anywhere, a local file leaked.


@pytest.fixture
def jane_markdown() -> str:
    return (FIXTURES / "jane_doe_improved.md").read_text()


@pytest.fixture
def ai_response(user, jane_markdown):
    from pdf.tests.factories import ai_response_for

    return ai_response_for(user=user, improved_cv=jane_markdown)


class RecordingServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every connection made to it, complete request or not."""

    def __init__(self):
        self.connections = []
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.end_headers()
                self.wfile.write(b"body { color: red }")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self):
        request = super().get_request()
        self.connections.append(request[1])
        return request


@pytest.fixture
def local_server():
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
