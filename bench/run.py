"""Measure the API as a client sees it, against a server started with ./scripts/run.sh.

    # in one terminal; one address sends everything, so raise the per-IP and per-user burst rates
    THROTTLE_ANON_RATE=100000/hour THROTTLE_USER_BURST_RATE=100000/minute ./scripts/run.sh
    .venv/bin/python bench/run.py --base-url http://127.0.0.1:8000 --requests 200 --concurrency 8

Loopback only, bounded in count (--requests per endpoint) and time (--deadline seconds for the whole run);
it stops by itself. The benchmark user is put on the Premium plan through the ORM (same database as the
server) so daily quotas do not cut the run short. Prints latency percentiles and throughput per endpoint and
the end-to-end time of an analysis and of a PDF render (queued -> succeeded, measured through the API).
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CV = ROOT / "cv" / "tests" / "fixtures" / "jane_doe_backend.pdf"
SAMPLE_JOB = ROOT / "cv" / "tests" / "fixtures" / "senior_backend_engineer.txt"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, base_url: str, deadline: float) -> None:
        host = urlparse(base_url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("bench/run.py only targets a server on this machine (127.0.0.1/localhost).")
        self.base_url = base_url.rstrip("/")
        self.deadline = time.monotonic() + deadline
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def sign_up(self) -> dict[str, str]:
        name = f"bench{uuid.uuid4().hex[:10]}"
        password = f"Bench-{uuid.uuid4().hex}"
        response = self.client.post(
            "/auth/registration/",
            json={"username": name, "email": f"{name}@example.com", "password1": password, "password2": password},
        )
        response.raise_for_status()
        self._upgrade(name)
        access = self.client.post("/auth/login/", json={"username": name, "password": password}).json()["access"]
        # Bearer only: without this, the JWT cookies set by login would sign in the "anonymous" calls too.
        self.client.cookies.clear()
        return {"Authorization": f"Bearer {access}"}

    def _upgrade(self, username: str) -> None:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvimprover.settings")
        # The development settings of the scripts/run.sh server it measures (its key file, its database).
        os.environ.setdefault("DEBUG", "True")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from core.models import Plan, User

        premium = Plan.objects.filter(slug="premium").first()
        if premium is None or not User.objects.filter(username=username).update(plan=premium):
            sys.exit("Cannot find the benchmark user in this database: run with the server's DATABASE_URL.")

    def measure(self, label: str, call, count: int, concurrency: int) -> None:
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        def one(_):
            if self.left() <= 0:
                return
            started = time.perf_counter()
            status = call()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(one, range(count)))
        elapsed = time.perf_counter() - started
        if not latencies:
            print(f"{label:<34} skipped (deadline)")
            return
        print(
            f"{label:<34} n={len(latencies):<5} p50={statistics.median(latencies):7.1f}ms "
            f"p95={percentile(latencies, 95):7.1f}ms max={max(latencies):7.1f}ms "
            f"rps={len(latencies) / elapsed:7.1f} statuses={statuses}"
        )

    def wait_until_done(self, path: str, headers: dict[str, str]) -> tuple[str, float]:
        started = time.perf_counter()
        while self.left() > 0:
            body = self.client.get(path, headers=headers).json()
            if body["status"] in ("succeeded", "failed"):
                return body["status"], time.perf_counter() - started
            time.sleep(0.05)
        return "timeout", time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint (bounded)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pipelines", type=int, default=5, help="analyses and PDFs measured end to end")
    parser.add_argument("--deadline", type=float, default=300, help="seconds for the whole run")
    args = parser.parse_args()
    count = max(1, min(args.requests, 5000))

    bench = Bench(args.base_url, args.deadline)
    auth = bench.sign_up()
    c = bench.client
    print(f"target {bench.base_url}, {count} requests per endpoint, concurrency {args.concurrency}")

    bench.measure("GET /core/health/", lambda: c.get("/core/health/").status_code, count, args.concurrency)
    bench.measure("GET /core/plans/ (anonymous)", lambda: c.get("/core/plans/").status_code, count, args.concurrency)
    bench.measure("GET /auth/user/", lambda: c.get("/auth/user/", headers=auth).status_code, count, args.concurrency)
    bench.measure(
        "GET /core/rate-limits/status/",
        lambda: c.get("/core/rate-limits/status/", headers=auth).status_code,
        count,
        args.concurrency,
    )

    job = SAMPLE_JOB.read_text()
    cv_bytes = SAMPLE_CV.read_bytes()
    fields = {
        "position": "Senior Backend Engineer",
        "industry": "Software",
        "experience_level": "6+",
        "company_size": "medium",
        "location": "Remote",
        "application_timeline": "immediate",
        "job_description": job[:5000],
    }
    uploads = min(count, 100)
    bench.measure(
        "POST /cv/questionnaire/ (PDF upload)",
        lambda: (
            c.post(
                "/cv/questionnaire/",
                data=fields,
                files={"resume": ("cv.pdf", cv_bytes, "application/pdf")},
                headers=auth,
            ).status_code
        ),
        uploads,
        args.concurrency,
    )
    questionnaires = c.get("/cv/questionnaire/", headers=auth).json()
    bench.measure(
        "GET /cv/questionnaire/ (list)",
        lambda: c.get("/cv/questionnaire/", headers=auth).status_code,
        count,
        args.concurrency,
    )
    if not questionnaires.get("results"):
        print("no questionnaire was created; stopping before the pipelines")
        return
    questionnaire_id = questionnaires["results"][0]["id"]

    analysis_times, render_times = [], []
    for _ in range(args.pipelines):
        if bench.left() <= 0:
            break
        created = c.post(
            "/cv/ai-responses/",
            json={"questionnaire": questionnaire_id, "prompt": "Tailor my CV to this job."},
            headers=auth,
        ).json()
        status, seconds = bench.wait_until_done(f"/cv/ai-responses/{created['id']}/", auth)
        analysis_times.append(seconds)
        if status != "succeeded":
            print(f"analysis {created['id']} ended {status}")
            continue
        template = "classic" if len(render_times) % 2 == 0 else "modern"
        document = c.post(
            f"/cv/ai-responses/{created['id']}/generate-pdf/", json={"template": template}, headers=auth
        ).json()
        status, seconds = bench.wait_until_done(f"/pdf/documents/{document['id']}/", auth)
        render_times.append(seconds)
    for label, times in (("analysis queued->succeeded", analysis_times), ("PDF queued->succeeded", render_times)):
        if times:
            print(
                f"{label:<34} n={len(times):<5} p50={statistics.median(times) * 1000:7.1f}ms "
                f"max={max(times) * 1000:7.1f}ms"
            )


if __name__ == "__main__":
    main()
