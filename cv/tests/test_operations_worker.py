"""Operations through real processes: gunicorn with 2 workers and a Celery worker sharing one metrics folder,
a broker of their own, the model a local fake. One analysis, one PDF and one Stripe webhook, then the
metrics scraped from the web server add up every process's numbers."""

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.models import StripeEvent
from testing.fake_openai import FakeOpenAI
from testing.fake_stripe import FakeStripe
from testing.servers import celery_worker, gunicorn_server, redis_server, stop_process
from testing.stripe_signing import signed_event_body

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).parent / "fixtures"
METRICS_TOKEN = "metrics-token-for-the-test"
WEBHOOK_SECRET = "whsec_ops_test_secret"


def _wait(client: httpx.Client, path: str, *, timeout: float = 60) -> tuple[dict, int]:
    """Poll a job until it ends; returns its body and how many GETs it took."""
    deadline = time.monotonic() + timeout
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        body = client.get(path).json()
        if body["status"] in ("succeeded", "failed"):
            return body, polls
        time.sleep(0.2)
    raise AssertionError(f"{path} still {body['status']} after {timeout} s")


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def stack(tmp_path, tmp_media):
    """A fake model, a broker, a worker and a web server of the test's own, one metrics folder for all."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    with FakeOpenAI() as model, redis_server() as redis:
        env = {
            "DJANGO_SETTINGS_MODULE": "cv.tests.ops_settings",
            "CV_TEST_OPENAI_API_KEY": "sk-test-not-a-real-key",
            "CV_TEST_OPENAI_BASE_URL": model.base_url,
            "OPS_TEST_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TEST_PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "LOG_FORMAT": "json",
        }
        worker = celery_worker(broker_url=redis.url(), log_path=tmp_path / "worker.log", **env)
        web_env = {**env, "TEST_REDIS_URL": redis.url(), "METRICS_TOKEN": METRICS_TOKEN}
        try:
            with gunicorn_server(workers=2, log_path=tmp_path / "web.log", **web_env) as web:
                yield web, model, tmp_path
        finally:
            stop_process(worker)


def _signed_in(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    name, password = f"ops{uuid.uuid4().hex[:8]}", f"Pw-{uuid.uuid4().hex}"
    signed_up = client.post(
        "/auth/registration/",
        json={"username": name, "email": f"{name}@example.com", "password1": password, "password2": password},
    )
    assert signed_up.status_code == 201, signed_up.text
    access = client.post("/auth/login/", json={"username": name, "password": password}).json()["access"]
    client.cookies.clear()
    client.headers["Authorization"] = f"Bearer {access}"
    return client


def _questionnaire(client: httpx.Client) -> int:
    created = client.post(
        "/cv/questionnaire/",
        data={"position": "Senior Backend Engineer", "industry": "Software", "job_description": "Django, Celery."},
        files={"resume": ("cv.pdf", (FIXTURES / "jane_doe_backend.pdf").read_bytes(), "application/pdf")},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _post_webhook(base_url: str) -> str:
    event = FakeStripe().event("price.updated", {"id": "price_not_in_any_plan", "object": "price"})
    body, header = signed_event_body(event, WEBHOOK_SECRET)
    answered = httpx.post(
        base_url + "/core/payments/webhook/stripe/",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )
    assert answered.status_code == 200, answered.text
    return event["id"]


def _wait_for_event(stripe_id: str, *, timeout: float = 30) -> StripeEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = StripeEvent.objects.filter(stripe_id=stripe_id).first()
        if event is not None and event.status in (StripeEvent.Status.IGNORED, StripeEvent.Status.PROCESSED):
            return event
        time.sleep(0.2)
    raise AssertionError(f"stripe event {stripe_id} not done after {timeout} s")


def test_metrics_add_up_an_analysis_a_pdf_and_a_webhook_across_processes(stack):
    web, model, _ = stack
    client = _signed_in(web.url)
    questionnaire = _questionnaire(client)

    accepted = client.post("/cv/ai-responses/", json={"questionnaire": questionnaire, "prompt": ""})
    assert accepted.status_code == 202, accepted.text
    analysis, analysis_polls = _wait(client, f"/cv/ai-responses/{accepted.json()['id']}/")
    assert analysis["status"] == "succeeded", analysis["error"]

    queued = client.post(f"/cv/ai-responses/{analysis['id']}/generate-pdf/", json={"template": "classic"})
    assert queued.status_code == 202, queued.text
    document, document_polls = _wait(client, f"/pdf/documents/{queued.json()['id']}/")
    assert document["status"] == "succeeded", document["error"]

    event = _wait_for_event(_post_webhook(web.url))
    assert event.status == StripeEvent.Status.IGNORED

    scraped = httpx.get(web.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
    assert scraped.status_code == 200, scraped.text
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)

    # Jobs, counted by the worker's processes and read through a web process.
    assert _value(samples, "cvimprover_jobs_total", kind="analysis", outcome="succeeded") == 1
    assert _value(samples, "cvimprover_jobs_total", kind="pdf", outcome="succeeded") == 1
    assert _value(samples, "cvimprover_jobs_total", kind="stripe_event", outcome="ignored") == 1
    for kind, outcome in (("analysis", "succeeded"), ("pdf", "succeeded"), ("stripe_event", "ignored")):
        for histogram in ("queued", "running", "total"):
            name = f"cvimprover_job_{histogram}_seconds_count"
            assert _value(samples, name, kind=kind, outcome=outcome) == 1, (name, kind)
    assert _value(samples, "cvimprover_truthfulness_verdicts_total", kind="analysis", verdict="verified") == 1

    # Every request the fake model answered, with the tokens it reported.
    answered = [request for request in model.requests if not request.refused]
    assert answered, "the model was never called"
    assert _value(samples, "cvimprover_model_calls_total", mode="json_schema", outcome="ok") == len(answered)
    assert _value(samples, "cvimprover_model_call_duration_seconds_count", mode="json_schema", outcome="ok") == len(
        answered
    )
    assert _value(samples, "cvimprover_model_tokens_total", mode="json_schema", side="prompt") == 120 * len(answered)
    # The reading of the job asks for plain lines (the prompt form).
    read = [request for request in model.requirement_requests if not request.refused]
    assert read, "the job was never read"
    assert _value(samples, "cvimprover_model_calls_total", mode="prompt", outcome="ok") == len(read)
    assert _value(samples, "cvimprover_model_tokens_total", side="completion", mode="json_schema") > 0

    # Requests by route template (never the raw path), summed over both gunicorn workers.
    assert (
        _value(samples, "cvimprover_http_requests_total", method="POST", route="/cv/ai-responses/", status="202") == 1
    )
    assert (
        _value(samples, "cvimprover_http_requests_total", method="GET", route="/cv/ai-responses/<pk>/", status="200")
        == analysis_polls
    )
    assert (
        _value(samples, "cvimprover_http_requests_total", method="GET", route="/pdf/documents/<int:pk>/", status="200")
        == document_polls
    )
    assert (
        _value(
            samples,
            "cvimprover_http_requests_total",
            method="POST",
            route="/core/payments/webhook/stripe/",
            status="200",
        )
        == 1
    )
    assert not any(f"/cv/ai-responses/{analysis['id']}/" in str(labels) for _, labels in samples)
    assert (
        _value(samples, "cvimprover_http_request_duration_seconds_count", method="POST", route="/cv/ai-responses/") == 1
    )

    # Queue depths, read from the broker at scrape time: all three queues, drained.
    assert _value(samples, "cvimprover_queue_depth_readable") == 1
    for queue in ("default", "ai", "pdf"):
        assert ("cvimprover_queue_depth", frozenset({("queue", queue)})) in samples, queue
        assert _value(samples, "cvimprover_queue_depth", queue=queue) == 0


def _log_lines(path: Path) -> list[dict]:
    """The JSON log lines of a process's output (LOG_FORMAT=json; Celery's banner is plain text)."""
    return [json.loads(raw) for raw in path.read_text().splitlines() if raw.startswith("{")]


def test_one_request_id_goes_from_the_post_to_the_worker_log_and_the_model(stack):
    web, model, tmp_path = stack
    client = _signed_in(web.url)
    questionnaire = _questionnaire(client)
    story = f"story-{uuid.uuid4().hex[:12]}"

    accepted = client.post(
        "/cv/ai-responses/", json={"questionnaire": questionnaire, "prompt": ""}, headers={"X-Request-ID": story}
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["X-Request-ID"] == story
    analysis, _ = _wait(client, f"/cv/ai-responses/{accepted.json()['id']}/")
    assert analysis["status"] == "succeeded", analysis["error"]
    # A render asked for by another request carries that request's id, not the analysis's.
    render_story = f"render-{uuid.uuid4().hex[:12]}"
    queued = client.post(
        f"/cv/ai-responses/{analysis['id']}/generate-pdf/",
        json={"template": "classic"},
        headers={"X-Request-ID": render_story},
    )
    assert queued.status_code == 202, queued.text
    document, _ = _wait(client, f"/pdf/documents/{queued.json()['id']}/")
    assert document["status"] == "succeeded", document["error"]

    # The web server's log: one JSON object per line, the POST's line among them.
    web_lines = _log_lines(tmp_path / "web.log")
    assert any(
        f"request id={story} method=POST path=/cv/ai-responses/ status=202" in line["message"] for line in web_lines
    )
    assert all({"time", "level", "logger", "message", "request_id"} <= line.keys() for line in web_lines)
    # Celery's own lines carry no task arguments ("data"), nor the plain format's suffix.
    assert not any({"data", "request_suffix"} & line.keys() for line in _log_lines(tmp_path / "worker.log"))

    # The worker's log lines written while running the analysis carry the POST's id, and only those.
    worker_lines = _log_lines(tmp_path / "worker.log")
    of_story = [line for line in worker_lines if line["request_id"] == story]
    task_line = next(line for line in of_story if "task name=cv.tasks.run_analysis" in line["message"])
    assert f"args={analysis['id']}" in task_line["message"]
    assert any(
        "task name=pdf.tasks.render_document" in line["message"]
        for line in worker_lines
        if line["request_id"] == render_story
    )
    assert not any("render_document" in line["message"] for line in of_story)

    # The model was asked with the same id.
    answered = [request for request in model.all_requests if not request.refused]
    assert answered
    for request in answered:
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers.get("x-request-id") == story
