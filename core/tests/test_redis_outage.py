"""Redis stops under a running server and worker, then comes back (DESIGN: "When parts fail or input is hostile").

Real processes: a redis-server of this test's own on a spare port, gunicorn (2 workers) and a Celery worker
pointed at it. Only that Redis is stopped; the machine's Redis serves the rest of the suite undisturbed.
"""

import logging
import time
from pathlib import Path

import pytest
import requests
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core import redis_safety
from core.models import QuotaUsage
from core.tests.factories import UserFactory
from cv.models import AIResponse, CoverLetter, CVQuestionnaire
from cv.tests.factories import QuestionnaireFactory
from pdf.models import Document
from testing.helpers import TEST_PASSWORD
from testing.servers import celery_worker, gunicorn_server, redis_server, stop_process

CV_PDF = Path(__file__).resolve().parent.parent.parent / "cv" / "tests" / "fixtures" / "jane_doe_backend.pdf"
JOB = {"position": "Backend Engineer", "experience_level": "6+", "job_description": "Python, Django, PostgreSQL."}
# Every answer with Redis down must come quickly: a request may wait on a dead Redis for a second or two at
# most (connect timeout, two publish retries), never hang.
MAX_SECONDS_WITH_REDIS_DOWN = 6.0
MIN_OUTAGE_SECONDS = 8.0


@pytest.fixture
def redis_gone(settings):
    """This process's cache and counters point at a port where no Redis listens."""
    from testing.servers import free_port

    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    redis_safety.breaker.reset()
    yield
    redis_safety.breaker.reset()


@pytest.mark.django_db
def test_with_redis_gone_reads_pass_their_rate_limits_and_say_so_in_the_log(redis_gone, api_client, caplog):
    with caplog.at_level(logging.WARNING, logger="cvimprover.redis"):
        assert APIClient().get("/auth/csrf-token/").status_code == 200
        assert APIClient().get("/core/plans/").status_code == 200
        assert api_client.get("/cv/questionnaire/").status_code == 200
        assert api_client.get("/core/rate-limits/status/").json()["scopes"]["api_calls"]["used"] == 0

    warnings = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per request


@pytest.mark.django_db
def test_with_redis_gone_a_cv_upload_is_503_and_costs_nothing(redis_gone, api_client, user):
    with CV_PDF.open("rb") as cv:
        response = api_client.post("/cv/questionnaire/", {**JOB, "resume": cv}, format="multipart")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert not CVQuestionnaire.objects.exists()
    assert _used(user, "uploads") == 0
    assert _used(user, "questionnaires") == 0


@pytest.mark.django_db(transaction=True)
def test_analysis_the_broker_cannot_take_is_503_and_leaves_no_row_and_no_used_unit(api_client, user, monkeypatch):
    from kombu.exceptions import OperationalError

    from cv.tasks import run_analysis

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_analysis, "apply_async", broker_down)
    questionnaire = QuestionnaireFactory.create(user=user)

    response = api_client.post("/cv/ai-responses/", {"questionnaire": questionnaire.pk, "prompt": "x"}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert not AIResponse.objects.exists()
    assert _used(user, "ai_responses") == 0


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_cover_letter_or_a_letter_pdf_is_503_and_saves_nothing(tmp_path):
    """Both start a job like an analysis does, through the job runner (core.jobs.start): a broker that cannot
    take the job means no row, no used unit, and a 503 the person can retry, never a job left pending."""
    user = UserFactory.create()
    questionnaire = QuestionnaireFactory.create(user=user)
    analysis = AIResponse.objects.create(
        questionnaire=questionnaire, user=user, status="succeeded", improved_cv="# Jane Doe\n\n## Skills\n\nPython"
    )
    written = CoverLetter.objects.create(
        ai_response=analysis, user=user, status="succeeded", letter="Dear team,\n\nI would like to apply."
    )
    with redis_server() as redis:
        with gunicorn_server(workers=1, log_path=tmp_path / "gunicorn.log", TEST_REDIS_URL=redis.url()) as web:
            client = Client(web.url, user)
            redis.stop()

            letter = client.call("POST", f"/cv/ai-responses/{analysis.pk}/cover-letter/", json={"tone": "warm"})
            render = client.call("POST", f"/cv/cover-letters/{written.pk}/generate-pdf/", json={})

    assert letter.status_code == 503, letter.text
    assert letter.json()["code"] == "service_unavailable"
    assert list(CoverLetter.objects.values_list("pk", flat=True)) == [written.pk]
    assert _used(user, "ai_responses") == 0
    assert render.status_code == 503, render.text
    assert render.json()["code"] == "service_unavailable"
    assert not Document.objects.exists()
    assert max(seconds for _, _, seconds in client.timings) < MAX_SECONDS_WITH_REDIS_DOWN, client.timings


@pytest.fixture
def stack(transactional_db, tmp_path):
    with redis_server() as redis:
        worker = celery_worker(broker_url=redis.url(), log_path=tmp_path / "worker.log")
        try:
            with gunicorn_server(workers=2, log_path=tmp_path / "gunicorn.log", TEST_REDIS_URL=redis.url()) as web:
                yield redis, web, tmp_path
        finally:
            stop_process(worker)


class Client:
    def __init__(self, base: str, user) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {RefreshToken.for_user(user).access_token}"
        self.timings: list[tuple[str, int, float]] = []

    def call(self, method: str, path: str, *, anonymous: bool = False, **kwargs) -> requests.Response:
        started = time.monotonic()
        sender = requests if anonymous else self.session
        response = sender.request(method, self.base + path, timeout=20, **kwargs)
        self.timings.append((f"{method} {path}", response.status_code, time.monotonic() - started))
        return response


def _wait_for(check, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


def _finished(client: Client, path: str) -> dict | None:
    body = client.call("GET", path).json()
    return body if body["status"] in ("succeeded", "failed") else None


def _upload_cv(client: Client) -> requests.Response:
    with CV_PDF.open("rb") as cv:
        return client.call("POST", "/cv/questionnaire/", data=JOB, files={"resume": ("cv.pdf", cv, "application/pdf")})


def _used(user, scope: str) -> int:
    return sum(QuotaUsage.objects.filter(user=user, scope=scope).values_list("used", flat=True))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_redis_outage_keeps_reads_and_sign_in_refuses_work_with_503_and_recovers_by_itself(stack, capsys):
    redis, web, logs = stack
    user = UserFactory.create()
    questionnaire = QuestionnaireFactory.create(user=user)
    client = Client(web.url, user)

    # Before the outage: an analysis goes through, so the server's broker connection is warm (and must
    # survive the restart, not just be opened fresh afterwards).
    started = client.call("POST", "/cv/ai-responses/", json={"questionnaire": questionnaire.pk, "prompt": "Tighten"})
    assert started.status_code == 202, started.text
    done = _wait_for(
        lambda: _finished(client, f"/cv/ai-responses/{started.json()['id']}/"), timeout=60, what="first analysis"
    )
    assert done["status"] == "succeeded"
    analyses_before = AIResponse.objects.count()
    ai_units_before = _used(user, "ai_responses")

    redis.stop()
    down_since = time.monotonic()
    client.timings.clear()

    assert client.call("GET", "/auth/csrf-token/", anonymous=True).status_code == 200
    assert client.call("GET", "/core/plans/", anonymous=True).status_code == 200
    login = client.call("POST", "/auth/login/", anonymous=True, json={"email": user.email, "password": TEST_PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["access"]
    assert client.call("GET", "/auth/user/").json()["email"] == user.email
    assert client.call("GET", "/cv/questionnaire/").status_code == 200
    limits = client.call("GET", "/core/rate-limits/status/")
    assert limits.status_code == 200
    assert limits.json()["scopes"]["ai_responses"]["used"] == ai_units_before
    # A questionnaire without a CV needs only PostgreSQL (its quota unit is a row there): it is created.
    assert client.call("POST", "/cv/questionnaire/", json=JOB).status_code == 201

    # What truly needs Redis: reading a CV (one parse per person is a Redis lock), queueing an analysis or
    # a render. Each is a 503 service_unavailable and leaves nothing behind.
    questionnaires = CVQuestionnaire.objects.count()
    with CV_PDF.open("rb") as cv:
        upload = client.call(
            "POST", "/cv/questionnaire/", data=JOB, files={"resume": ("cv.pdf", cv, "application/pdf")}
        )
    assert upload.status_code == 503, upload.text
    assert upload.json()["code"] == "service_unavailable"
    assert CVQuestionnaire.objects.count() == questionnaires
    assert _used(user, "uploads") == 0

    analysis = client.call("POST", "/cv/ai-responses/", json={"questionnaire": questionnaire.pk, "prompt": "Again"})
    assert analysis.status_code == 503, analysis.text
    assert analysis.json()["code"] == "service_unavailable"
    assert AIResponse.objects.count() == analyses_before
    assert _used(user, "ai_responses") == ai_units_before

    render = client.call("POST", f"/cv/ai-responses/{done['id']}/generate-pdf/", json={})
    assert render.status_code == 503, render.text
    assert render.json()["code"] == "service_unavailable"
    assert not Document.objects.exists()

    health = client.call("GET", "/core/health/", anonymous=True)
    assert health.status_code == 503
    assert health.json()["services"]["redis"] == "down"

    slowest = max(seconds for _, _, seconds in client.timings)
    assert slowest < MAX_SECONDS_WITH_REDIS_DOWN, client.timings
    with capsys.disabled():
        print("\nwith Redis down:")
        for what, status, seconds in client.timings:
            print(f"  {what:<55} {status}  {seconds * 1000:6.0f} ms")

    # Long enough for the worker to notice and fail to reconnect a few times, so its reconnection is tested.
    _wait_for(
        lambda: "Connection to broker lost" in (logs / "worker.log").read_text(),
        timeout=30,
        what="the worker noticing the outage",
    )
    time.sleep(max(0.0, MIN_OUTAGE_SECONDS - (time.monotonic() - down_since)))
    redis.start()
    outage = time.monotonic() - down_since
    _wait_for(
        lambda: client.call("GET", "/core/health/", anonymous=True).status_code == 200, timeout=30, what="health 200"
    )
    # Back without any restart: the same server and worker queue and run an analysis and a render.
    again = client.call("POST", "/cv/ai-responses/", json={"questionnaire": questionnaire.pk, "prompt": "Again"})
    assert again.status_code == 202, again.text
    recovered = _wait_for(
        lambda: _finished(client, f"/cv/ai-responses/{again.json()['id']}/"), timeout=90, what="analysis after Redis"
    )
    assert recovered["status"] == "succeeded"
    document = client.call("POST", f"/cv/ai-responses/{done['id']}/generate-pdf/", json={})
    assert document.status_code == 202, document.text
    rendered = _wait_for(
        lambda: _finished(client, f"/pdf/documents/{document.json()['id']}/"), timeout=60, what="render after Redis"
    )
    assert rendered["status"] == "succeeded"
    with CV_PDF.open("rb") as cv:
        upload = client.call(
            "POST", "/cv/questionnaire/", data=JOB, files={"resume": ("cv.pdf", cv, "application/pdf")}
        )
    assert upload.status_code == 201, upload.text
    # The rate-limit counters are kept in Redis again.
    assert client.call("GET", "/core/rate-limits/status/").json()["scopes"]["api_calls"]["used"] >= 1
    with capsys.disabled():
        print(f"  outage lasted {outage:.1f} s; an analysis went through again after Redis came back")

    # The fail-open rate limits said so in the server log (once per outage and process, not per request).
    log = (logs / "gunicorn.log").read_text()
    assert "redis unavailable" in log
    assert log.count("redis unavailable") <= 2 * 3
