"""A real Celery worker in a subprocess, pointed at the test database, test Redis and test media folder."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from cvimprover.celery import app
from testing.fake_openai import Behaviour, FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="cvimprover.settings_test",
        DATABASE_URL=(
            f"postgres://{db['USER'] or ''}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}@"
            f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        TEST_REDIS_URL=settings.REDIS_URL,
        TEST_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_worker(
    *, queues: str = "default,ai,pdf", name: str = "test", concurrency: int = 1, log_path: Path | None = None, **env
) -> subprocess.Popen:
    """Start `celery worker` and wait (bounded) until it answers a ping. The caller must stop it."""
    hostname = f"{name}-{os.getpid()}-{time.monotonic_ns()}@localhost"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "cvimprover", "worker", "-Q", queues, "-n", hostname,
            "--concurrency", str(concurrency), "--pool", "prefork", "-l", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env(**{k: str(v) for k, v in env.items()}),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early with {proc.returncode}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return proc
    stop_worker(proc)
    raise RuntimeError("celery worker did not become ready within 30 s")


def start_llm_worker(*, model_url: str, queue: str, name: str, log_path: Path, **env: str) -> subprocess.Popen:
    """A worker on `queue` with the test settings of `cv.tests.worker_settings`, whose model is the local fake
    OpenAI server at `model_url`; `env` adds its CV_TEST_* overrides (timeouts, attempts) or other variables.
    The caller must stop it."""
    return start_worker(
        queues=queue,
        name=name,
        concurrency=1,
        log_path=log_path,
        DJANGO_SETTINGS_MODULE="cv.tests.worker_settings",
        CV_TEST_OPENAI_API_KEY="sk-test-not-a-real-key",
        CV_TEST_OPENAI_BASE_URL=model_url,
        CV_TEST_ANALYSIS_QUEUE=queue,
        **env,
    )


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def llm_worker_fixtures(
    *,
    name: str,
    queue: str,
    server: str = "server",
    worker: str = "worker",
    default: Callable[[], Behaviour] | None = None,
    tmp_media: bool = True,
    **env: str,
) -> tuple[Any, Any, Any]:
    """The fixtures of a test module whose analyses run on a real worker against the local fake model, to be
    assigned at module level: the fake server and the worker, once per module (named ``server`` and
    ``worker``), and ``fake``, the server reset for each test (then answering ``default()``) with the
    analyses routed to ``queue``. ``env``: the worker's CV_TEST_* overrides; ``tmp_media``: False where a
    test needs the session's media folder (a worker that renders PDFs writes there)."""

    @pytest.fixture(scope="module", name=server)
    def model_server() -> Iterator[FakeOpenAI]:
        with FakeOpenAI(default=default() if default else None) as fake:
            yield fake

    @pytest.fixture(scope="module", name=worker)
    def model_worker(django_db_setup, django_db_blocker, request, tmp_path_factory) -> Iterator[subprocess.Popen]:
        model = request.getfixturevalue(server)
        with django_db_blocker.unblock():
            proc = start_llm_worker(
                model_url=model.base_url,
                queue=queue,
                name=name,
                log_path=tmp_path_factory.mktemp(name) / "worker.log",
                **env,
            )
        yield proc
        stop_worker(proc)

    @pytest.fixture(name="fake")
    def reset_model(request, settings) -> FakeOpenAI:
        model = request.getfixturevalue(server)
        request.getfixturevalue(worker)
        if tmp_media:
            request.getfixturevalue("tmp_media")
        model.reset()
        if default:
            model.default = default()
        settings.CV_ANALYSIS_QUEUE = queue
        return model

    return model_server, model_worker, reset_model
