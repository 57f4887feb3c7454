"""Progress people can see (cv.progress): while a streaming model writes, a running analysis or letter shows
the share written so far; a server that refuses to stream is asked again without it; the share is written at
most about once a second, and never by a run that lost the job's lease."""

import json
import os
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cv import progress
from cv.jobs import ANALYSIS_JOB
from cv.llm import client as llm
from cv.llm import piecewise
from cv.models import AIResponse
from cv.scoring.job import Job
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from cv.tests.test_piecewise import NURSE_CV, NURSE_JOB
from testing.fake_openai import Answer, FakeOpenAI, RewritesParts, Slow
from testing.workers import llm_worker_fixtures

FIXTURES = Path(__file__).parent / "fixtures"
QUEUE = f"cv-test-progress-{os.getpid()}"
WAIT_SECONDS = 60
LETTER = (
    "# Jane Doe\n\nDear Hiring Manager,\n\nI would like to apply for the Senior Backend Engineer role. At Ledgerly "
    "Ltd I work on the payments API in Django and Django REST Framework, and I am responsible for the PostgreSQL "
    "schema and its migrations.\n\nI moved background jobs from cron to Celery with Redis, cutting nightly batch "
    "time from 4 hours to 35 minutes, and I helped with the Stripe billing integration. At ShopWave I wrote unit "
    "tests with pytest and improved coverage from 40% to 85%.\n\nI would welcome the chance to bring this "
    "experience to your team.\n\nYours sincerely,\n\nJane Doe"
)
_PROGRESS_WRITE = re.compile(r'UPDATE "cv_airesponse" SET "progress" = ([0-9.]+)')


# Through a real worker: what a person polling the row sees.


server, worker, fake = llm_worker_fixtures(
    name="cv-progress",
    queue=QUEUE,
    default=Answer,
    CV_TEST_OPENAI_TIMEOUT="20",
    CV_TEST_OPENAI_MAX_ATTEMPTS="1",
)


@pytest.fixture
def jane(api_client) -> int:
    with open(FIXTURES / "jane_doe_backend.pdf", "rb") as pdf:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("jane.pdf", pdf.read(), content_type="application/pdf")
    response = api_client.post(
        "/cv/questionnaire/",
        {
            "position": "Senior Backend Engineer",
            "job_description": (FIXTURES / "senior_backend_engineer.txt").read_text(),
            "resume": upload,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _watch(api_client, url: str) -> tuple[dict, list[tuple[float, str, float | None]]]:
    """Poll ``url`` until it finishes: (its last body, each (time, status, progress) seen while polling)."""
    seen = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        body = api_client.get(url).json()
        seen.append((time.monotonic(), body["status"], body["progress"]))
        if body["status"] in ("succeeded", "failed"):
            return body, seen
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish within {WAIT_SECONDS}s")


def _analyse(api_client, questionnaire_id: int) -> str:
    accepted = api_client.post("/cv/ai-responses/", {"questionnaire": questionnaire_id}, format="json")
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["progress"] is None
    return f"/cv/ai-responses/{accepted.json()['id']}/"


def _shares_while_running(seen) -> list[float]:
    return [share for _, status, share in seen if status == "running" and share is not None]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_running_analysis_shows_the_share_written_growing_then_one_when_it_succeeds(api_client, fake, jane):
    fake.queue(Slow(0.08, Answer()))  # about 70 pieces: some 6 s of writing

    body, seen = _watch(api_client, _analyse(api_client, jane))

    assert body["status"] == "succeeded", body
    assert body["progress"] == 1.0
    shares = _shares_while_running(seen)
    distinct = sorted(set(shares))
    assert len(distinct) >= 2, seen
    assert all(0 < share < 1 for share in distinct), seen
    assert shares == sorted(shares), "the share never goes back while one answer is written"
    # At most about one write a second: never more distinct values than seconds spent writing, plus one.
    running = [at for at, status, share in seen if status == "running" and share is not None]
    assert len(distinct) <= (running[-1] - running[0]) + 2
    [request] = fake.requests
    assert request.body["stream"] is True


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_running_letter_shows_the_share_written(api_client, fake, jane):
    body, _ = _watch(api_client, _analyse(api_client, jane))
    assert body["status"] == "succeeded", body
    fake.reset()
    fake.queue(Slow(0.15, Answer(content=json.dumps({"letter": LETTER}))))  # some 30 pieces: about 4.5 s

    accepted = api_client.post(f"/cv/ai-responses/{body['id']}/cover-letter/", {"words": 150}, format="json")
    assert accepted.status_code == 202, accepted.content
    letter, seen = _watch(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded", letter
    assert letter["progress"] == 1.0
    shares = _shares_while_running(seen)
    assert len(set(shares)) >= 2 and all(0 < share < 1 for share in shares), seen
    assert shares == sorted(shares)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("style", ["vllm", "llama-cpp-python"])
def test_a_server_that_refuses_to_stream_is_asked_again_without_it(api_client, fake, jane, style):
    fake.refuse_params = {"stream"}
    fake.refusal_style = style  # vLLM: a 400; llama-cpp-python: a 500 that names the parameter

    body, seen = _watch(api_client, _analyse(api_client, jane))

    assert body["status"] == "succeeded", body
    assert body["progress"] == 1.0
    assert _shares_while_running(seen) == []  # no stream, no share to show
    asked = fake.all_requests
    assert asked[0].refused and asked[0].body["stream"] is True
    # Asked again at once without streaming, and remembered: no later request asks to stream.
    assert all(not request.refused and "stream" not in request.body for request in asked[1:])
    assert len(fake.answered) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_that_lost_the_lease_never_writes_its_share_again(api_client, fake, jane):
    fake.queue(Slow(0.1, Answer()))  # about 7 s of writing
    url = _analyse(api_client, jane)
    pk = int(url.rstrip("/").rsplit("/", 1)[1])
    deadline = time.monotonic() + WAIT_SECONDS
    while not (AIResponse.objects.get(pk=pk).progress or 0) > 0:
        assert time.monotonic() < deadline, "no share was ever written"
        time.sleep(0.1)

    # Another run takes the job over, as a claim after the lease passed does: a new token, no share yet.
    AIResponse.objects.filter(pk=pk).update(
        lease_token=uuid.uuid4(), lease_expires_at=timezone.now() + timedelta(minutes=5), progress=None
    )
    watched_until = time.monotonic() + 8  # past the end of the first run's answer
    while time.monotonic() < watched_until:
        row = AIResponse.objects.get(pk=pk)
        assert row.progress is None, "the run that lost the lease wrote its share"
        time.sleep(0.2)

    row = AIResponse.objects.get(pk=pk)
    assert (row.status, row.progress, row.improved_cv) == ("running", None, "")  # nor its answer


# In the process: what is written, and how often.


@pytest.fixture
def held(user, jane_cv_text, backend_job):
    """An analysis row held by this run, as the runner's claim leaves it."""
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    return AIResponseFactory.create(
        questionnaire=questionnaire,
        status="running",
        lease_token=uuid.uuid4(),
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )


def _written(queries) -> list[float]:
    return [float(match.group(1)) for query in queries if (match := _PROGRESS_WRITE.search(query["sql"]))]


@pytest.mark.django_db
def test_an_answer_streamed_at_once_costs_one_write(llm_settings, fake_openai, held):
    with CaptureQueriesContext(connection) as queries, progress.reporting(ANALYSIS_JOB, held):
        with progress.expecting(len(held.questionnaire.resume_text)):
            llm.complete_cv(messages=[{"role": "user", "content": "Rewrite my CV."}])

    # Some 70 pieces in well under a second: one UPDATE, conditional on the lease.
    assert len(_written(queries.captured_queries)) == 1
    [write] = [query["sql"] for query in queries.captured_queries if "progress" in query["sql"]]
    assert "lease_token" in write and "lease_expires_at" in write and "running" in write
    held.refresh_from_db()
    assert 0 < held.progress <= progress.MAX_SHARE


@pytest.mark.django_db
def test_a_run_whose_write_finds_the_lease_gone_stops_writing(llm_settings, fake_openai, held, monkeypatch):
    monkeypatch.setattr(progress, "WRITE_INTERVAL_SECONDS", 0)
    AIResponse.objects.filter(pk=held.pk).update(lease_token=uuid.uuid4())  # taken over before it writes

    with CaptureQueriesContext(connection) as queries, progress.reporting(ANALYSIS_JOB, held):
        with progress.expecting(200):
            llm.complete_cv(messages=[{"role": "user", "content": "Rewrite my CV."}])
            llm.complete_cv(messages=[{"role": "user", "content": "Rewrite my CV."}])

    assert len([query for query in queries.captured_queries if "progress" in query["sql"]]) == 1
    held.refresh_from_db()
    assert held.progress is None


@pytest.mark.django_db
def test_part_by_part_the_share_is_of_all_parts_and_never_goes_back(settings, held, monkeypatch):
    monkeypatch.setattr(progress, "WRITE_INTERVAL_SECONDS", 0)
    with FakeOpenAI(default=RewritesParts()) as fake:
        settings.OPENAI_API_KEY = "sk-test-not-a-real-key"
        settings.OPENAI_BASE_URL = fake.base_url
        settings.OPENAI_REWRITE = "sections"
        fake.stream_piece_chars = 8
        with CaptureQueriesContext(connection) as queries, progress.reporting(ANALYSIS_JOB, held):
            piecewise.analyse(job=Job.from_fields(NURSE_JOB), cv_text=NURSE_CV, prompt="Tailor my CV.")

    assert len(fake.requests) == 3  # the summary and two roles
    shares = _written(queries.captured_queries)
    assert shares == sorted(shares) and len(set(shares)) == len(shares)
    # From the first pieces of the first part to the last of the last, each part weighted by its size.
    assert 0 < shares[0] < 0.1 and shares[-1] > 0.9 and max(shares) <= progress.MAX_SHARE


@pytest.mark.django_db
def test_a_corrective_retry_shows_its_own_share_from_the_start(llm_settings, fake_openai, held, monkeypatch):
    monkeypatch.setattr(progress, "WRITE_INTERVAL_SECONDS", 0)
    first = [{"role": "user", "content": "Rewrite my CV."}]

    with CaptureQueriesContext(connection) as queries, progress.reporting(ANALYSIS_JOB, held):
        with progress.expecting(200):  # far shorter than the answer: the first answer reaches the cap
            answer = llm.complete_cv(messages=first)
        retry = [*first, {"role": "assistant", "content": answer.improved_cv}, {"role": "user", "content": "Again."}]
        llm.complete_cv(messages=retry)  # expected: as long as the answer it rewrites

    shares = _written(queries.captured_queries)
    cap = shares.index(progress.MAX_SHARE)
    assert shares[cap + 1] < 0.1, shares  # the retry's share starts again from its first pieces
    assert shares[cap + 1 :] == sorted(shares[cap + 1 :])
