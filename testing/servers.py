"""Real processes for fault tests: a Redis server of the test's own, a gunicorn server, a Celery worker.

Everything binds 127.0.0.1 on a port the OS picked, and each process is stopped by the test that started
it. The machine's own Redis and PostgreSQL are never touched: a test that stops Redis stops only its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from testing.workers import ROOT, worker_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check, *, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited early with {proc.returncode}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {timeout:g} s")


def _stop(proc: subprocess.Popen, *, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class RedisServer:
    """A throwaway `redis-server` (no persistence) that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cvimprover-test-redis-"))
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_until(self.ping, timeout=10, what="redis-server", proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


class GunicornServer:
    """`gunicorn cvimprover.wsgi` with the test settings, the test database and the given environment."""

    def __init__(self, *, workers: int = 2, timeout: int = 30, log_path: Path | None = None, **env: str) -> None:
        self.port = free_port()
        self.workers = workers
        self.timeout = timeout
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"GET /core/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return sock.recv(16).startswith(b"HTTP/1.1")
        except OSError:
            return False

    def start(self) -> None:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cvimprover.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--timeout", str(self.timeout), "--graceful-timeout", "5"],
            cwd=ROOT,
            env=worker_env(**self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_until(self._answers, timeout=30, what="gunicorn", proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@contextlib.contextmanager
def gunicorn_server(**kwargs) -> Iterator[GunicornServer]:
    server = GunicornServer(**kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, a spare port), to restart at will."""

    BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cvimprover-test-pg-"))
        self.data = self.dir / "data"
        # initdb refuses to run as root; the cluster then belongs to an unprivileged account.
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "nobody", "--"]
            os.chmod(self.dir, 0o777)

    @property
    def available(self) -> bool:
        return (self.BIN / "initdb").exists()

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(str(self.BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        self._run(
            str(self.BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", "-l", str(self.dir / "log"),
            "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", "-m", mode, "stop")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def celery_worker(*, broker_url: str, queues: str = "default,ai,pdf", log_path: Path | None = None, **env: str):
    """A Celery worker subprocess on ``broker_url`` (a Redis of the test's own), ready when it answers a ping."""
    from celery import Celery

    # A separate app for the ping: the project's app publishes control messages through its own producer
    # pool, on its own broker, whatever connection it is given.
    probe = Celery("fault-probe", broker=broker_url, set_as_current=False)
    hostname = f"fault-{os.getpid()}-{time.monotonic_ns()}@localhost"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cvimprover", "worker", "-Q", queues, "-n", hostname,
         "--concurrency", "1", "--pool", "prefork", "-l", "INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT,
        env=worker_env(TEST_REDIS_URL=broker_url, **env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip

    def answers() -> bool:
        return bool(probe.control.ping(destination=[hostname], timeout=0.5))

    try:
        _wait_until(answers, timeout=30, what="celery worker", proc=proc)
    except BaseException:
        _stop(proc, timeout=15)
        raise
    finally:
        probe.close()
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    _stop(proc, timeout=15)


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """A local S3-compatible server (moto's server mode) on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
