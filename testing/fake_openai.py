"""A local OpenAI-compatible chat completions server for tests.

Start it, point ``OPENAI_BASE_URL`` at ``server.base_url`` and queue what the next requests get::

    with FakeOpenAI() as server:
        server.queue(Status(429), Answer(improved_cv="# Jane"))
        ...
        assert "jane@example.com" not in server.requests[0].prompt_text

Each request takes the next behaviour from the queue; when the queue is empty it gets ``default`` (a valid
answer). Every request is recorded (path, headers, JSON body) before it is answered.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_IMPROVED_CV = (
    "# Jane Doe\n\n## Summary\n\nBackend engineer.\n\n## Experience\n\n- Built APIs.\n\n"
    "## Education\n\nBSc\n\n## Skills\n\nPython"
)


@dataclass
class Answer:
    """A 200 answer. ``content`` overrides the JSON built from improved_cv/changes."""

    improved_cv: str = DEFAULT_IMPROVED_CV
    changes: list[str] = field(default_factory=lambda: ["Added a summary."])
    content: str | None = None
    fenced: bool = False
    finish_reason: str = "stop"
    model: str = "fake-model"
    prompt_tokens: int = 120
    completion_tokens: int = 80

    def body(self) -> str:
        if self.content is not None:
            return self.content
        text = json.dumps({"improved_cv": self.improved_cv, "changes": self.changes})
        return f"```json\n{text}\n```" if self.fenced else text


@dataclass
class Empty(Answer):
    """A 200 answer whose message content is empty."""

    content: str | None = ""


@dataclass
class Status:
    """An error status with an OpenAI-shaped error body."""

    status: int
    message: str = "fake error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delay:
    """Wait ``seconds`` (or until the server stops), then behave as ``then``."""

    seconds: float
    then: Answer | Status = field(default_factory=Answer)


Behaviour = Answer | Status | Delay


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt_text(self) -> str:
        """All message contents joined, to assert what reached the model."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


class FakeOpenAI:
    def __init__(self, default: Behaviour | None = None):
        self.default: Behaviour = default or Answer()
        self.requests: list[RecordedRequest] = []
        self._queue: list[Behaviour] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def reset(self) -> None:
        """Forget queued behaviours and recorded requests (for a server shared by several tests)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` requests arrived; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.requests) >= count, timeout=timeout)

    def _next(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            behaviour = self._queue.pop(0) if self._queue else self.default
            self._lock.notify_all()
            return behaviour

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                path = self.path.split("?")[0]
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                if path not in ("/v1/chat/completions", "/chat/completions"):
                    self._send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                headers = {key.lower(): value for key, value in self.headers.items()}
                behaviour = fake._next(RecordedRequest(path=path, headers=headers, body=body))
                if isinstance(behaviour, Delay):
                    fake._stopping.wait(behaviour.seconds)
                    behaviour = behaviour.then
                try:
                    self._respond(behaviour, body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (timeout) or its process was killed: nothing left to answer.
                    pass

            def _respond(self, behaviour: Answer | Status, request_body: dict[str, Any]) -> None:
                if isinstance(behaviour, Status):
                    error = {"message": behaviour.message, "type": "fake_error", "code": behaviour.code}
                    self._send_json(behaviour.status, {"error": error}, behaviour.headers)
                    return
                self._send_json(
                    200,
                    {
                        "id": f"chatcmpl-fake-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": behaviour.model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": behaviour.body()},
                                "finish_reason": behaviour.finish_reason,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": behaviour.prompt_tokens,
                            "completion_tokens": behaviour.completion_tokens,
                            "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens,
                        },
                    },
                )

            def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
