"""One benchmark run of the API as a client sees it, on this machine, every figure from the same run.

    .venv/bin/python bench/run.py                      # ~4 minutes; needs PostgreSQL and Redis, wrk for HTTP load
    .venv/bin/python bench/run.py --only http --rounds 1   # the endpoint table alone, one round

It starts its own stack on loopback and stops it at the end: a database `cvimprover_bench` (created and
migrated), Redis database 11, gunicorn (2 workers, production settings), a Celery worker and an instant
OpenAI-compatible model (the test fake). Load comes from wrk (`apt-get install wrk`) with 8 connections for
a fixed time (4 s per endpoint, in 3 rounds over all endpoints); without wrk, from a Python thread pool.
Every request goes to 127.0.0.1 and every phase is bounded in time, so it stops by itself.

Figures are ratios to the cheapest view measured in the same run (`GET /auth/csrf-token/`), because absolute
numbers depend on the machine. It prints:
- the endpoint table (req/s, p50, p99, errors, ratio),
- the Stripe webhook against the Python client's own ceiling (signing every event needs a Python client),
- analysis end to end with an instant model, and the overhead outside the model at 1 and 20 at once,
- PDF rendering against bare WeasyPrint on the same HTML, and render/extraction time by page count,
- list latency at 50 and 5,000 rows,
- CPU per request by kind of process (gunicorn, PostgreSQL, Redis, wrk), read from /proc (`--only cpu`,
  not in the default run),
- the enqueue beside stripped versions of itself, the most its ratio could reach (`--only floor`, not in
  the default run; bench/enqueue_floor.py),
- each hot-path piece weighed on its endpoints: the application against the same application with that
  piece replaced by plain Django or DRF, alternated round by round (`--only hotpath`, not in the default
  run; bench/hotpath.py),
- cost against size of every operation that depends on the CV, from one page to the largest text accepted,
  in one process (`--only sizes`, not in the default run; bench/sizes.py; each cell stopped at `--cap`
  seconds). With only in-process sections (`render`, `sizes`), no server, database or Redis is started.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.fake_openai import FakeOpenAI  # noqa: E402
from testing.stripe_signing import stripe_signature_header  # noqa: E402

SAMPLE_CV = ROOT / "cv" / "tests" / "fixtures" / "jane_doe_backend.pdf"
SAMPLE_JOB = ROOT / "cv" / "tests" / "fixtures" / "senior_backend_engineer.txt"
SAMPLE_MARKDOWN = ROOT / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md"
DATABASE = "cvimprover_bench"
REDIS_URL = "redis://127.0.0.1:6379/11"
WEBHOOK_SECRET = "whsec_" + secrets.token_hex(16)
LUA_POST = """wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
"""
# A query string no earlier request had (per wrk thread and request), so no cached page can answer.
LUA_NEW_QUERY = """local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) n = 0 end
function request() n = n + 1; return wrk.format(nil, wrk.path .. "?rebuilt=" .. tid .. "-" .. n) end
"""


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """gunicorn + a Celery worker + an instant model, on a database of their own."""

    def __init__(self, workdir: Path, web_workers: int) -> None:
        self.workdir = workdir
        self.web_workers = web_workers
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.model = FakeOpenAI().start()
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ)
        self.env.update(
            DJANGO_SETTINGS_MODULE="cvimprover.settings",
            DATABASE_URL=f"postgres://127.0.0.1:5432/{DATABASE}",
            REDIS_URL=REDIS_URL,
            DEBUG="False",
            SECRET_KEY=secrets.token_urlsafe(48),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="False",
            SESSION_COOKIE_SECURE="False",
            CSRF_COOKIE_SECURE="False",
            JWT_AUTH_SECURE="False",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            MEDIA_ROOT=str(workdir / "media"),
            THROTTLE_ANON_RATE="10000000/hour",
            THROTTLE_USER_BURST_RATE="10000000/minute",
            OPENAI_API_KEY="sk-bench-not-a-real-key",
            OPENAI_BASE_URL=self.model.base_url,
            OPENAI_MODEL="instant",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_SECRET_KEY="",
            PYTHONUNBUFFERED="1",
        )

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run(["redis-cli", "-n", "11", "flushdb"], check=True, capture_output=True)
        subprocess.run(
            [sys.executable, "scripts/ensure_db.py"], cwd=ROOT, env=self.env, check=True, capture_output=True
        )
        self.manage("migrate", "--noinput")
        self.manage("seed_plans")
        self.log = open(self.workdir / "stack.log", "ab")
        self.serve()

    def serve(self, app: str = "cvimprover.wsgi:application", **env: str) -> None:
        """Start gunicorn (procs[0]) serving `app`, replacing the one running, and wait for it to answer."""
        if self.procs:
            _stop(self.procs[0])
        self.procs[:1] = [self.gunicorn(app, self.port, **env)]

    def gunicorn(self, app: str, port: int, **env: str) -> subprocess.Popen:
        """A gunicorn serving `app` on `port`, once it answers (the caller stops it)."""
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "-c", "cvimprover/gunicorn.py",
             "--bind", f"127.0.0.1:{port}", "--workers", str(self.web_workers)],
            cwd=ROOT, env={**self.env, **env}, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/core/health/", timeout=2).status_code == 200:
                    return web
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        _stop(web)
        raise SystemExit(f"the server did not start; see {self.workdir / 'stack.log'}")

    def start_worker(self) -> None:
        """The Celery worker, started only for the end-to-end figures: while the HTTP load runs, nothing
        consumes the queues (the enqueue figure is the web side alone, as with workers on other machines)."""
        subprocess.run(["redis-cli", "-n", "11", "del", "ai", "default", "pdf"], capture_output=True)
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "cvimprover", "worker", "-Q", "default,ai,pdf",
                 "--concurrency", "2", "-l", "WARNING", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        time.sleep(5)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.model.stop()


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wrk_figure(pattern: str, out: str) -> str:
    match = re.search(pattern, out)
    if match is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{out}")
    return match.group(1)


class Bench:
    def __init__(self, stack: Stack, duration: float, connections: int, rounds: int = 1) -> None:
        self.stack = stack
        self.duration = duration
        self.rounds = rounds
        self.connections = connections
        self.client = httpx.Client(base_url=stack.base_url, timeout=30)
        self.rows: list[dict] = []
        self.wrk = shutil.which("wrk")

    def sign_up(self, *, plan: str = "premium") -> tuple[int, dict[str, str]]:
        name = f"bench{uuid.uuid4().hex[:10]}"
        password = f"Bench-{uuid.uuid4().hex}"
        response = self.client.post(
            "/auth/registration/",
            json={"username": name, "email": f"{name}@example.com", "password1": password, "password2": password},
        )
        response.raise_for_status()
        from core.models import Plan, User

        # The benchmark user may call as often as the load needs: the plan's limits are not what is measured.
        user = User.objects.get(username=name)
        user.plan = Plan.objects.get(slug=plan)
        user.save(update_fields=["plan"])
        Plan.objects.filter(slug=plan).update(
            ai_responses_per_day=10_000_000, api_calls_per_hour=10_000_000, uploads_per_day=10_000_000
        )
        access = self.client.post("/auth/login/", json={"username": name, "password": password}).json()["access"]
        self.client.cookies.clear()  # Bearer only: the cookies set by login would sign in "anonymous" calls
        return user.pk, {"Authorization": f"Bearer {access}"}

    def load(
        self, label: str, path: str, *, headers: dict[str, str] | None = None, post: str | None = None,
        new_query: bool = False, base_url: str | None = None,
    ) -> dict:  # fmt: skip
        if self.wrk:
            row = self._wrk(path, headers or {}, post, new_query, base_url or self.stack.base_url)
        else:
            row = self._threads(path, headers or {}, post, new_query, base_url or self.stack.base_url)
        row["label"] = label
        self.rows.append(row)
        return row

    def _wrk(self, path: str, headers: dict[str, str], post: str | None, new_query: bool, base_url: str) -> dict:
        args = [
            self.wrk or "wrk",
            "-t2",
            f"-c{self.connections}",
            f"-d{int(self.duration)}s",
            "--latency",
            "--timeout",
            "10s",
        ]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        script = None
        if post is not None or new_query:
            script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
            script.write(LUA_POST.format(body=post) if post is not None else LUA_NEW_QUERY)
            script.close()
            args += ["-s", script.name]
        out = subprocess.run(
            [*args, base_url + path], capture_output=True, text=True, timeout=self.duration + 30
        ).stdout
        if script is not None:
            os.unlink(script.name)

        def latency(pct: int) -> float:
            match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            if not match:
                return float("nan")
            return float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]

        rps = float(_wrk_figure(r"Requests/sec:\s+([\d.]+)", out))
        total = int(_wrk_figure(r"(\d+) requests in", out))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        errors = int(non2xx.group(1)) if non2xx else 0
        errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
        return {"rps": rps, "p50": latency(50), "p99": latency(99), "errors": errors, "requests": total}

    def _threads(self, path: str, headers: dict[str, str], post: str | None, new_query: bool, base_url: str) -> dict:
        def call(client: httpx.Client) -> int:
            if post is None:
                url = f"{path}?rebuilt={uuid.uuid4().hex}" if new_query else path
                return client.get(url, headers=headers).status_code
            return client.post(path, content=post, headers={**headers, "Content-Type": "application/json"}).status_code

        return self.threads(call, base_url)

    def threads(self, call, base_url: str | None = None) -> dict:
        """Run `call(client)` from a thread pool for the duration; the Python client's view of the server."""
        latencies: list[float] = []
        errors = 0
        end = time.monotonic() + self.duration

        def worker(_):
            nonlocal errors
            with httpx.Client(base_url=base_url or self.stack.base_url, timeout=30) as client:
                while time.monotonic() < end:
                    started = time.perf_counter()
                    status = call(client)
                    latencies.append((time.perf_counter() - started) * 1000)
                    if status >= 400:
                        errors += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.connections) as pool:
            list(pool.map(worker, range(self.connections)))
        elapsed = time.perf_counter() - started
        return {
            "rps": len(latencies) / elapsed,
            "p50": statistics.median(latencies),
            "p99": percentile(latencies, 99),
            "errors": errors,
            "requests": len(latencies),
        }

    def wait(self, path: str, headers: dict[str, str], timeout: float = 60) -> tuple[str, float]:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            body = self.client.get(path, headers=headers).json()
            if body["status"] in ("succeeded", "failed"):
                return body["status"], time.perf_counter() - started
            time.sleep(0.005)
        return "timeout", time.perf_counter() - started


def print_table(title: str, rows: list[dict], base: dict) -> None:
    print(f"\n{title}\n")
    print("| endpoint | req/s | p50 ms | p99 ms | errors | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        ratio = row["rps"] / base["rps"] if base["rps"] else float("nan")
        print(
            f"| {row['label']} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
            f"{row['errors']}/{row['requests']} | {ratio:.2f} |"
        )


def questionnaire_rows(user_id: int, count: int) -> None:
    from django.conf import settings
    from django.db import connection

    from core.hot_path.list_pages import lists_changed
    from cv.models import CVQuestionnaire

    job = SAMPLE_JOB.read_text()[: settings.CV_JOB_DESCRIPTION_MAX_CHARS]
    CVQuestionnaire.objects.bulk_create(
        [
            CVQuestionnaire(
                user_id=user_id, position=f"Backend engineer {i}", industry="Software", experience_level="6+",
                company_size="medium", location="Remote", application_timeline="immediate", job_description=job,
                resume_text="Jane Doe\nBackend engineer", resume_pages=1,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )  # fmt: skip
    lists_changed(user_id=user_id)  # bulk_create sends no signals
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cv_cvquestionnaire")  # as autovacuum would after a bulk load


def http_figures(bench: Bench, auth: dict[str, str], big_auth: dict[str, str], questionnaire_id: int) -> None:
    enqueue = json.dumps({"questionnaire": questionnaire_id, "prompt": "Tailor my CV."})
    endpoints: list[tuple[str, str, dict[str, str] | None, str | None, bool]] = [
        ("`GET /auth/csrf-token/`", "/auth/csrf-token/", None, None, False),
        ("`GET /core/plans/` (anonymous)", "/core/plans/", None, None, False),
        ("`GET /auth/user/` (Bearer)", "/auth/user/", auth, None, False),
        ("`GET /core/rate-limits/status/`", "/core/rate-limits/status/", auth, None, False),
        ("`GET /cv/questionnaire/` (50 rows, paginated)", "/cv/questionnaire/", auth, None, False),
        ("`GET /cv/questionnaire/` (5,000 rows, paginated)", "/cv/questionnaire/", big_auth, None, False),
        ("`GET /cv/questionnaire/` (5,000 rows, page rebuilt each time)", "/cv/questionnaire/", big_auth, None, True),
        ("`POST /cv/ai-responses/` (enqueue only)", "/cv/ai-responses/", auth, enqueue, False),
    ]
    # Every endpoint once per round, the cheapest view first: a machine whose speed drifts during the run
    # (other work, CPU boost) moves every row of a round alike, so the ratios stay comparable.
    runs: dict[str, list[dict]] = {label: [] for label, *_ in endpoints}
    for _ in range(bench.rounds):
        for label, path, headers, post, new_query in endpoints:
            runs[label].append(bench.load(label, path, headers=headers, post=post, new_query=new_query))
    bench.rows = [_merged(label, rounds) for label, rounds in runs.items()]
    print_table(f"HTTP, ratio to the cheapest view ({bench.rounds} rounds)", bench.rows, bench.rows[0])


def _merged(label: str, rounds: list[dict]) -> dict:
    """One row from the rounds: mean req/s, median p50, the worst p99, all requests and errors."""
    return {
        "label": label,
        "rps": statistics.mean(r["rps"] for r in rounds),
        "p50": statistics.median(r["p50"] for r in rounds),
        "p99": max(r["p99"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "requests": sum(r["requests"] for r in rounds),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def cpu_figures(bench: Bench, auth: dict[str, str], questionnaire_id: int) -> None:
    """CPU per request of each kind of process, under the same load as the endpoint table (wrk)."""
    workers = [int(pid) for pid in subprocess.run(
        ["pgrep", "-P", str(bench.stack.procs[0].pid)], capture_output=True, text=True
    ).stdout.split()]  # fmt: skip
    enqueue = json.dumps({"questionnaire": questionnaire_id, "prompt": "Tailor my CV."})
    endpoints = [
        ("`GET /auth/csrf-token/`", "/auth/csrf-token/", None, None),
        ("`GET /auth/user/`", "/auth/user/", auth, None),
        ("questionnaire list, 50 rows", "/cv/questionnaire/", auth, None),
        ("`POST /cv/ai-responses/`", "/cv/ai-responses/", auth, enqueue),
    ]
    print("\nCPU per request (ms), by kind of process, from /proc\n")
    print("| request | gunicorn | PostgreSQL | Redis | wrk | all |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, path, headers, post in endpoints:
        groups = {"gunicorn": workers, "postgres": _pids("postgres"), "redis": _pids("redis-server")}
        before = {name: sum(_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}
        started = os.times()
        row = bench.load(label, path, headers=headers, post=post)
        ended = os.times()
        requests = max(row["requests"], 1)
        ms = {name: 1000 * (sum(_cpu_seconds(pid) for pid in pids) - before[name]) / requests
              for name, pids in groups.items()}  # fmt: skip
        children = (ended.children_user + ended.children_system) - (started.children_user + started.children_system)
        ms["wrk"] = 1000 * children / requests
        print(f"| {label} | " + " | ".join(f"{value:.2f}" for value in ms.values()) + f" | {sum(ms.values()):.2f} |")


def floor_figures(bench: Bench, auth: dict[str, str], questionnaire_id: int) -> None:
    """The real enqueue beside the stripped ones of bench/enqueue_floor.py, each with the cheapest view of the
    same server: how far the enqueue's ratio could go on this stack."""
    enqueue = json.dumps({"questionnaire": questionnaire_id, "prompt": "Tailor my CV."})
    JSON = "application/json"
    variants = [
        ("the real enqueue", ""),
        ("one statement, Celery's message", "statement"),
        ("one statement, a bare LPUSH", "push"),
        ("one statement, Celery's message, no DRF", "plain"),
    ]
    print(f"\nThe enqueue's floor (bench/enqueue_floor.py; {bench.rounds} rounds, ratio to the cheapest view "
          "of the same server)\n")  # fmt: skip
    print("| enqueue | csrf req/s | enqueue req/s | p99 ms | errors | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, variant in variants:
        bench.stack.serve("bench.enqueue_floor:application", BENCH_ENQUEUE_FLOOR=variant)
        for _ in range(50):  # warm the workers: connections, prepared statements, the catalogue
            bench.client.post("/cv/ai-responses/", content=enqueue, headers={**auth, "Content-Type": JSON})
        cheapest, measured = [], []
        for _ in range(bench.rounds):
            cheapest.append(bench.load("csrf", "/auth/csrf-token/"))
            measured.append(bench.load(label, "/cv/ai-responses/", headers=auth, post=enqueue))
        base, row = _merged("csrf", cheapest), _merged(label, measured)
        print(f"| {label} | {base['rps']:.0f} | {row['rps']:.0f} | {row['p99']:.1f} | "
              f"{row['errors']}/{row['requests']} | {row['rps'] / base['rps']:.2f} |")  # fmt: skip
    bench.stack.serve()


def hotpath_figures(bench: Bench, auth: dict[str, str], questionnaire_id: int) -> None:
    """Each hot-path piece weighed on its endpoints: the application as it is (on the stack's server) against
    the same application with that piece replaced by plain Django or DRF (bench/hotpath.py, one server per
    piece, all running at once). Every round measures each endpoint on both servers back to back, in
    alternating order, so drift and other work on the machine fall on both sides alike."""
    from bench.hotpath import PIECES

    enqueue = json.dumps({"questionnaire": questionnaire_id, "prompt": "Tailor my CV."})
    endpoints: dict[str, tuple[str, str, dict[str, str] | None, str | None]] = {
        "user": ("`GET /auth/user/`", "/auth/user/", auth, None),
        "status": ("`GET /core/rate-limits/status/`", "/core/rate-limits/status/", auth, None),
        "plans": ("`GET /core/plans/` (anonymous)", "/core/plans/", None, None),
        "list": ("`GET /cv/questionnaire/` (50 rows)", "/cv/questionnaire/", auth, None),
        "enqueue": ("`POST /cv/ai-responses/`", "/cv/ai-responses/", auth, enqueue),
    }
    weighed = {
        "compiled_lookup": ("user", "enqueue"),
        "serializers": ("user", "status", "enqueue"),
        "list_pages": ("list",),
        "plan_catalogue": ("plans", "status"),
    }
    assert set(weighed) == set(PIECES)
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    try:
        for piece in PIECES:
            port = _free_port()
            servers[piece] = (bench.stack.gunicorn("bench.hotpath:application", port, BENCH_HOTPATH_OFF=piece),
                              f"http://127.0.0.1:{port}")  # fmt: skip
        JSON = "application/json"
        for base_url in [bench.stack.base_url] + [url for _proc, url in servers.values()]:
            with httpx.Client(base_url=base_url, timeout=30) as client:  # warm both workers of every server
                for _ in range(40):
                    for _label, path, headers, post in endpoints.values():
                        if post is None:
                            client.get(path, headers=headers)
                        else:
                            client.post(path, content=post, headers={**(headers or {}), "Content-Type": JSON})
        rows: dict[tuple[str, str], dict[str, list[dict]]] = {}
        for round_number in range(bench.rounds):
            for piece, names in weighed.items():
                for name in names:
                    _label, path, headers, post = endpoints[name]
                    sides = {"with": bench.stack.base_url, "without": servers[piece][1]}
                    order = ["with", "without"] if round_number % 2 == 0 else ["without", "with"]
                    cell = rows.setdefault((piece, name), {"with": [], "without": []})
                    for side in order:
                        cell[side].append(bench.load(name, path, headers=headers, post=post, base_url=sides[side]))
    finally:
        for proc, _url in servers.values():
            _stop(proc)
    print(f"\nThe hot-path pieces (bench/hotpath.py; {bench.rounds} rounds, with and without each piece, "
          "alternated; req/s with over req/s without)\n")  # fmt: skip
    # The ratio is the median of the rounds' own ratios: each compares two loads a few seconds apart.
    print("| piece | endpoint | with req/s | without req/s | with / without | rounds' range | p99 with / without ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (piece, name), cell in rows.items():
        on, off = _merged(name, cell["with"]), _merged(name, cell["without"])
        per_round = [a["rps"] / b["rps"] for a, b in zip(cell["with"], cell["without"], strict=True)]
        print(f"| {piece} | {endpoints[name][0]} | {on['rps']:.0f} | {off['rps']:.0f} | "
              f"{statistics.median(per_round):.2f} | {min(per_round):.2f}-{max(per_round):.2f} | "
              f"{on['p99']:.1f} / {off['p99']:.1f} |")  # fmt: skip
    enqueue_p99 = [row["p99"] for (_piece, name), cell in rows.items() if name == "enqueue" for row in cell["with"]]
    print(
        f"\n- the enqueue as it is: worst p99 of its {len(enqueue_p99)} runs {max(enqueue_p99):.1f} ms, "
        f"median {statistics.median(enqueue_p99):.1f} ms"
    )


def webhook_figures(bench: Bench) -> None:
    def webhook(client: httpx.Client) -> int:
        event = {
            "id": f"evt_bench_{uuid.uuid4().hex}",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_bench", "object": "customer"}},
        }
        body = json.dumps(event)
        headers = {
            "Stripe-Signature": stripe_signature_header(body, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        }
        return client.post("/core/payments/webhook/stripe/", content=body, headers=headers).status_code

    for _ in range(100):  # warm both workers (a section before may have restarted the server)
        bench.client.get("/auth/csrf-token/")
        webhook(bench.client)
    ceiling = bench.threads(lambda client: client.get("/auth/csrf-token/").status_code)
    ceiling["label"] = "`GET /auth/csrf-token/` (Python client)"
    hook = bench.threads(webhook)
    hook["label"] = "Stripe webhook (signed, unique events)"
    print_table("Stripe webhook, ratio to the Python client's ceiling", [ceiling, hook], ceiling)


def pipeline_figures(bench: Bench, headers: dict[str, str], questionnaire_id: int, runs: int) -> None:
    times = []
    for _ in range(runs):
        created = bench.client.post(
            "/cv/ai-responses/", json={"questionnaire": questionnaire_id, "prompt": "Tailor it."}, headers=headers
        ).json()
        status, seconds = bench.wait(f"/cv/ai-responses/{created['id']}/", headers)
        if status == "succeeded":
            times.append(seconds * 1000)
    print("\nAnalysis end to end (instant model, queued -> succeeded seen by polling)\n")
    print(f"- {len(times)} runs: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")

    from cv.models import AIResponse

    for concurrent in (1, 20):
        ids = [
            bench.client.post(
                "/cv/ai-responses/", json={"questionnaire": questionnaire_id, "prompt": "x"}, headers=headers
            ).json()["id"]
            for _ in range(concurrent)
        ]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not AIResponse.objects.filter(pk__in=ids, status__in=("pending", "running")).exists():
                break
            time.sleep(0.05)
        rows = list(AIResponse.objects.filter(pk__in=ids).values_list("created_at", "started_at", "finished_at"))
        end_to_end = [(done - created).total_seconds() * 1000 for created, _s, done in rows if done]
        in_worker = [(done - started).total_seconds() * 1000 for _c, started, done in rows if done and started]
        print(
            f"- {concurrent:>2} at once: created -> finished median {statistics.median(end_to_end):.0f} ms "
            f"(max {max(end_to_end):.0f}); inside the worker median {statistics.median(in_worker):.0f} ms"
        )


def render_figures(repeats: int) -> None:
    from weasyprint import HTML

    from cv.intake.pdf_text import extract_cv_text
    from pdf.rendering import BASE_URL, BundledAssetFetcher, build_html, render_pdf

    markdown = SAMPLE_MARKDOWN.read_text()
    html = build_html(markdown=markdown, template="classic", title="Jane Doe")
    render_pdf(markdown=markdown, template="classic", title="Jane Doe")  # warm fonts and imports

    def timed_once(fn) -> float:
        started = time.perf_counter()
        fn()
        return (time.perf_counter() - started) * 1000

    def timed(fn) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    # Alternated, one of each at a time, so a machine whose speed drifts slows both alike.
    pairs = [
        (
            timed_once(lambda: HTML(string=html, base_url=BASE_URL, url_fetcher=BundledAssetFetcher()).write_pdf()),
            timed_once(lambda: render_pdf(markdown=markdown, template="classic", title="Jane Doe")),
        )
        for _ in range(repeats)
    ]
    bare = statistics.median(pair[0] for pair in pairs)
    ours = statistics.median(pair[1] for pair in pairs)
    print(f"\nPDF rendering (same CV, median of {repeats} alternated pairs, in one process)\n")
    print(f"- bare WeasyPrint on our HTML: {bare:.0f} ms; render_pdf (Markdown -> HTML -> PDF, page count): "
          f"{ours:.0f} ms; ratio {ours / bare:.2f}")  # fmt: skip

    print("\n| CV pages | render ms | text extraction ms |")
    print("| --- | --- | --- |")
    one_page = markdown
    for wanted in (1, 2, 5, 10):
        body = one_page
        rendered = render_pdf(markdown=body, template="classic", title="Jane Doe")
        while rendered.pages < wanted:
            body += "\n\n" + one_page.split("\n", 2)[-1]
            rendered = render_pdf(markdown=body, template="classic", title="Jane Doe")
        render_ms = timed(lambda b=body: render_pdf(markdown=b, template="classic", title="Jane Doe"))
        extract_ms = timed(
            lambda c=rendered.content: extract_cv_text(c, max_bytes=10 * 1024 * 1024, max_pages=20, timeout=20)
        )
        print(f"| {rendered.pages} | {render_ms:.0f} | {extract_ms:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=4, help="seconds of load per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the HTTP endpoints (default 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--pipelines", type=int, default=10, help="analyses measured end to end")
    parser.add_argument(
        "--only", default="http,webhook,pipeline,render", help="comma-separated sections to run (default: all)"
    )
    parser.add_argument("--cap", type=float, default=5, help="seconds at most per cell of the sizes section")
    args = parser.parse_args()
    duration = float(max(1, min(int(args.duration), 60)))
    cap = max(0.5, min(args.cap, 60))
    sections = set(args.only.split(","))
    if sections <= IN_PROCESS:
        in_process(sections, cap)
        return

    workdir = Path(tempfile.mkdtemp(prefix="cvimprover-bench-"))
    stack = Stack(workdir, args.web_workers)
    stack.start()
    os.environ.update({k: stack.env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")})
    os.environ.update(SECRET_KEY=stack.env["SECRET_KEY"], DEBUG="False", MEDIA_ROOT=stack.env["MEDIA_ROOT"])
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        bench = Bench(stack, duration, args.connections, rounds=max(1, min(args.rounds, 10)))
        user_id, auth = bench.sign_up()
        _big_user_id, big_auth = bench.sign_up()
        questionnaire_rows(user_id, 50)
        questionnaire_rows(_big_user_id, 5000)
        from cv.models import CVQuestionnaire

        questionnaire_id = CVQuestionnaire.objects.filter(user_id=user_id).values_list("pk", flat=True)[0]
        load = "wrk" if bench.wrk else "a Python thread pool"
        print(f"{stack.base_url}: gunicorn {args.web_workers} workers, {args.connections} connections, "
              f"{duration:.0f} s per endpoint and round, load from {load}")  # fmt: skip

        if "http" in sections:
            http_figures(bench, auth, big_auth, questionnaire_id)
        if "cpu" in sections:
            cpu_figures(bench, auth, questionnaire_id)
        if "floor" in sections:
            floor_figures(bench, auth, questionnaire_id)
        if "hotpath" in sections:
            hotpath_figures(bench, auth, questionnaire_id)
        if "webhook" in sections:
            webhook_figures(bench)
        if "pipeline" in sections:
            from django.db import connection

            with connection.cursor() as cursor:  # the tens of thousands of rows the load left, at once
                cursor.execute("TRUNCATE cv_airesponse, core_stripeevent CASCADE")
            stack.start_worker()
            pipeline_figures(bench, auth, questionnaire_id, args.pipelines)
    finally:
        stack.stop()
    if "render" in sections:
        render_figures(repeats=9)
    if "sizes" in sections:
        from bench import sizes

        sizes.figures(cap)
    shutil.rmtree(workdir, ignore_errors=True)


# Sections measured in this process alone, with no server, database or Redis.
IN_PROCESS = {"render", "sizes"}


def in_process(sections: set[str], cap: float) -> None:
    os.environ.update(DJANGO_SETTINGS_MODULE="cvimprover.settings", DEBUG="False", SECRET_KEY=secrets.token_urlsafe(48))
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)  # the long inputs make the renderer and parsers warn; the table is the output
    if "render" in sections:
        render_figures(repeats=9)
    if "sizes" in sections:
        from bench import sizes

        sizes.figures(cap)


if __name__ == "__main__":
    main()
