"""The analysis pipeline with real Celery workers (subprocesses) on the real Redis, against a local fake
OpenAI server. These workers consume a queue of their own (CV_ANALYSIS_QUEUE), so a worker started by other
tests can never take their jobs."""

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import QuotaUsage
from cv.llm.proposals import find
from cv.models import AIResponse, CVQuestionnaire
from cv.tasks import requeue_stuck_responses
from testing.fake_openai import (
    DEFAULT_IMPROVED_CV,
    INVENTED_EVIDENCE,
    INVENTED_TERM,
    Answer,
    Delay,
    Empty,
    FakeOpenAI,
    ReadsRequirements,
    Status,
)
from testing.workers import llm_worker_fixtures, start_llm_worker, stop_worker

FIXTURES = Path(__file__).parent / "fixtures"
LLM_QUEUE = f"cv-test-llm-{os.getpid()}"
KILL_QUEUE = f"cv-test-kill-{os.getpid()}"
WAIT_SECONDS = 45

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker(name: str, queue: str, fake: FakeOpenAI, log_dir: Path, **env: str):
    return start_llm_worker(model_url=fake.base_url, queue=queue, name=name, log_path=log_dir / f"{name}.log", **env)


llm_fake, llm_worker, fake = llm_worker_fixtures(
    name="cv-llm",
    queue=LLM_QUEUE,
    server="llm_fake",
    worker="llm_worker",
    CV_TEST_OPENAI_TIMEOUT="1",
    CV_TEST_OPENAI_MAX_ATTEMPTS="3",
    CV_TEST_RETRY_BASE_SECONDS="0.2",
)


@pytest.fixture
def questionnaire_id(api_client, user):
    user.email = "jane.doe@example.com"
    user.first_name = "Janet"
    user.date_of_birth = dt.date(1990, 4, 1)
    user.save()
    with open(FIXTURES / "jane_doe_backend.pdf", "rb") as pdf:
        upload = SimpleUploadedFile("jane.pdf", pdf.read(), content_type="application/pdf")
    response = api_client.post(
        "/cv/questionnaire/",
        {
            "position": "Senior Backend Engineer",
            "industry": "FinTech",
            "experience_level": "6+",
            "job_description": (FIXTURES / "senior_backend_engineer.txt").read_text(),
            "resume": upload,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _request(api_client, questionnaire_id: int) -> int:
    response = api_client.post(
        "/cv/ai-responses/", {"questionnaire": questionnaire_id, "prompt": "Stress my API work"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    return response.json()["id"]


def _wait_until(predicate, timeout: float = WAIT_SECONDS, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _finished(api_client, response_id: int) -> dict:
    def done():
        body = api_client.get(f"/cv/ai-responses/{response_id}/").json()
        return body if body["status"] in ("succeeded", "failed") else None

    return _wait_until(done, what=f"ai response {response_id} to finish")


def _ai_used(user) -> int:
    return QuotaUsage.objects.get(user=user, scope="ai_responses").used


def test_analysis_runs_end_to_end_on_a_worker(api_client, user, fake, questionnaire_id):
    improved = DEFAULT_IMPROVED_CV
    fake.queue(Answer(improved_cv=improved, changes=["Added a summary."]))

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == improved
    assert body["changes"] == ["Added a summary."]
    assert body["model"] == "fake-model"
    assert body["error"] == ""
    assert body["match_report"]["keywords"]["added"] == []
    assert body["verification"] == {"status": "verified", "unsupported": [], "missing": []}
    assert body["started_at"] and body["finished_at"]
    [request] = fake.requests
    prompt = request.prompt_text
    assert "Senior Backend Engineer" in prompt and "Stress my API work" in prompt
    assert "Moved background jobs from cron to Celery" in prompt
    for personal in ("jane.doe@example.com", "1990-04-01", "Janet"):
        assert personal not in prompt


def test_a_requirement_the_job_lacks_and_a_quote_the_cv_lacks_never_reach_the_report(
    api_client, fake, questionnaire_id
):
    fake.requirements_default = ReadsRequirements(invent=True)

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    terms, evidence = fake.requirement_requests
    model = ReadsRequirements(invent=True)
    assert INVENTED_TERM in model.body_for(terms.body)
    assert f"=> {INVENTED_EVIDENCE}" in model.body_for(evidence.body)
    [lacking] = [
        line.split(" => ")[0] for line in model.body_for(evidence.body).splitlines() if INVENTED_EVIDENCE in line
    ]
    report = body["match_report"]
    assert INVENTED_TERM.casefold() not in json.dumps(report).casefold()
    assert INVENTED_EVIDENCE not in json.dumps(report)
    questionnaire = CVQuestionnaire.objects.get(pk=questionnaire_id)
    stored = questionnaire.job_requirements["requirements"]
    job = f"{questionnaire.position}\n{questionnaire.industry}\n{questionnaire.job_description}"
    # What the model read was checked: each term is the job's, each quote the CV's, or there is none.
    assert stored and all(find(item["term"], job) for item in stored)
    assert all(item["cv_evidence"] is None or find(item["cv_evidence"], questionnaire.resume_text) for item in stored)
    [checked] = [item for item in stored if item["term"].casefold() == lacking.casefold()]
    assert checked["cv_evidence"] is None
    # A term the model copied in lower case is listed as the job writes it, with the CV's own words.
    details = {detail["term"]: detail for detail in report["keywords"]["details"]}
    assert details["Django REST Framework"]["cv_evidence"] == "Django REST Framework"
    assert "Django REST Framework" in report["keywords"]["found"]
    assert "Kubernetes" in report["keywords"]["missing"]
    # The rewrite was asked for once, after the reading.
    assert len(fake.requests) == 1 and fake.all_requests[:2] == [terms, evidence]


# The model invents an employer, a number and a skill that Jane's CV does not have.
INVENTED_CV = DEFAULT_IMPROVED_CV.replace(
    "- Mentored two junior developers.",
    "- Mentored two junior developers.\n- Integrated the Monzo payments API serving 2 million requests a day on "
    "Kubernetes.",
).replace("Git, Linux", "Git, Linux, Kubernetes")
FAITHFUL_CV = DEFAULT_IMPROVED_CV
# Each flagged claim says where it came from and the version it first appeared in (cv.versions.services).
INVENTED_CLAIMS = [
    {"kind": "number", "text": "2 million", "source": "model", "introduced_in": 1},
    {"kind": "keyword", "text": "Kubernetes", "source": "model", "introduced_in": 1},
    {"kind": "organisation", "text": "Monzo", "source": "model", "introduced_in": 1},
]


def test_invented_claims_that_survive_the_repair_are_stored_as_flagged(api_client, fake, questionnaire_id):
    fake.queue(Answer(improved_cv=INVENTED_CV), Answer(improved_cv=INVENTED_CV))

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == INVENTED_CV
    assert body["verification"] == {"status": "flagged", "unsupported": INVENTED_CLAIMS, "missing": []}
    assert "Kubernetes" in body["match_report"]["keywords"]["unsupported"]
    assert "Kubernetes" not in body["match_report"]["keywords"]["added"]
    assert len(fake.requests) == 2
    repair = fake.requests[1].prompt_text
    assert all(f"{c['kind']}: {c['text']}" in repair for c in INVENTED_CLAIMS)


def test_invented_claims_are_repaired_when_the_model_removes_them(api_client, fake, questionnaire_id):
    fake.queue(Answer(improved_cv=INVENTED_CV), Answer(improved_cv=FAITHFUL_CV, changes=["Kept to the CV."]))

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == FAITHFUL_CV
    assert body["changes"] == ["Kept to the CV."]
    assert body["verification"] == {"status": "verified", "unsupported": [], "missing": []}
    assert body["match_report"]["keywords"]["unsupported"] == []
    assert len(fake.requests) == 2


def test_rate_limited_call_is_retried_and_succeeds(api_client, fake, questionnaire_id):
    fake.queue(Status(429, headers={"retry-after": "0"}), Answer())

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    assert len(fake.requests) == 2
    assert AIResponse.objects.get(pk=body["id"]).attempts == 2


def test_rejected_credentials_fail_once_without_retries(api_client, user, fake, questionnaire_id):
    fake.queue(Status(401, message="Incorrect API key provided"))

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "failed"
    assert "credentials" in body["error"]
    assert body["improved_cv"] == "" and body["match_report"] is None
    assert len(fake.requests) == 1
    assert AIResponse.objects.get(pk=body["id"]).attempts == 1
    assert _ai_used(user) == 0


def test_timed_out_call_is_retried(api_client, fake, questionnaire_id):
    fake.queue(Delay(4), Answer())

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    assert len(fake.requests) == 2


def test_calls_that_keep_timing_out_fail_after_the_last_attempt(api_client, user, fake, questionnaire_id):
    fake.queue(Delay(4), Delay(4), Delay(4), Answer())

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "failed"
    assert "did not answer in time" in body["error"]
    assert len(fake.requests) == 3
    assert _ai_used(user) == 0


def test_empty_answer_fails_with_a_clear_error(api_client, user, fake, questionnaire_id):
    fake.queue(Empty())

    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "failed"
    assert body["error"] == "The AI service returned an empty answer."
    assert len(fake.requests) == 1
    assert _ai_used(user) == 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_job_of_a_killed_worker_runs_again_and_completes(
    api_client, user, llm_fake, settings, tmp_media, questionnaire_id, tmp_path, django_db_blocker
):
    llm_fake.reset()
    settings.CV_ANALYSIS_QUEUE = KILL_QUEUE
    llm_fake.queue(Delay(60), Answer(improved_cv=f"{DEFAULT_IMPROVED_CV}\n\nAfter the crash."))
    env = {"CV_TEST_OPENAI_TIMEOUT": "90", "CV_TEST_JOB_LEASE_SECONDS": "3"}
    doomed = _worker("cv-doomed", KILL_QUEUE, llm_fake, tmp_path, **env)
    replacement = None
    try:
        response_id = _request(api_client, questionnaire_id)
        assert llm_fake.wait_for_requests(1, timeout=WAIT_SECONDS), "the worker never called the LLM"
        assert AIResponse.objects.get(pk=response_id).status == "running"

        # The whole worker dies at once (out of memory, machine lost): no chance to clean up or give back.
        for pid in [doomed.pid, *_descendants(doomed.pid)]:
            os.kill(pid, signal.SIGKILL)
        doomed.wait(timeout=10)

        replacement = _worker("cv-replacement", KILL_QUEUE, llm_fake, tmp_path, **env)
        _wait_until(
            lambda: AIResponse.objects.get(pk=response_id).lease_expires_at < timezone.now(),
            timeout=10,
            what="the dead worker's lease to expire",
        )
        # The beat sweep, delivered to the replacement worker as beat would deliver it.
        requeue_stuck_responses.apply_async(queue=KILL_QUEUE)

        body = _finished(api_client, response_id)
    finally:
        stop_worker(doomed)
        if replacement is not None:
            stop_worker(replacement)

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == f"{DEFAULT_IMPROVED_CV}\n\nAfter the crash."
    response = AIResponse.objects.get(pk=response_id)
    assert response.attempts == 2
    assert (response.finished_at - response.created_at).total_seconds() < 120
    assert len(llm_fake.requests) == 2


def test_offline_analysis_and_match_report_through_the_api(api_client, celery_worker, tmp_media, questionnaire_id):
    # No OPENAI_API_KEY in the shared test worker: the offline analyser does the job.
    body = _finished(api_client, _request(api_client, questionnaire_id))

    assert body["status"] == "succeeded", body
    assert body["model"] == "offline"
    assert body["improved_cv"].startswith("# Jane Doe")
    assert "# Review against the job: Senior Backend Engineer" in body["improved_cv"]
    report = body["match_report"]
    assert {"Python", "Django", "Django REST Framework", "PostgreSQL", "Celery", "Redis", "Stripe", "Docker"} <= set(
        report["keywords"]["found"]
    )
    assert {"Kubernetes", "Prometheus", "Grafana", "Sentry", "Code review"} <= set(report["keywords"]["missing"])
    assert report["keywords"]["added"] == []
    assert report["score_after"] == report["score_before"]
    assert all(report["sections"].values())
    # Each keyword with its evidence: the job's words, and the CV's words for a found one (none for a missing one).
    details = {detail["term"]: detail for detail in report["keywords"]["details"]}
    assert set(details) == set(report["keywords"]["found"]) | set(report["keywords"]["missing"])
    assert set(details["Celery"]) == {"term", "kind", "importance", "job_quote", "cv_evidence"}
    assert details["Celery"]["kind"] == "tool" and details["Celery"]["cv_evidence"] == "Celery"
    assert "Celery" in details["Celery"]["job_quote"]
    assert details["Kubernetes"]["cv_evidence"] is None
    assert {detail["importance"] for detail in details.values()} <= {"required", "preferred"}


def test_job_of_a_killed_pool_process_is_redelivered_and_completes_without_the_sweep(
    api_client, llm_fake, settings, tmp_media, questionnaire_id, tmp_path
):
    llm_fake.reset()
    queue = f"{KILL_QUEUE}-child"
    settings.CV_ANALYSIS_QUEUE = queue
    llm_fake.queue(Delay(60), Answer(improved_cv=f"{DEFAULT_IMPROVED_CV}\n\nAfter the redelivery."))
    worker = _worker("cv-child", queue, llm_fake, tmp_path, CV_TEST_OPENAI_TIMEOUT="90", CV_TEST_JOB_LEASE_SECONDS="3")
    try:
        response_id = _request(api_client, questionnaire_id)
        assert llm_fake.wait_for_requests(1, timeout=WAIT_SECONDS), "the worker never called the LLM"
        # Only the process running the task dies; the worker sees it lost and puts the message back
        # (acks_late + reject_on_worker_lost). The redelivered job waits for the dead run's lease, then runs.
        for pid in _descendants(worker.pid):
            os.kill(pid, signal.SIGKILL)

        body = _finished(api_client, response_id)
    finally:
        stop_worker(worker)

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == f"{DEFAULT_IMPROVED_CV}\n\nAfter the redelivery."
    assert AIResponse.objects.get(pk=response_id).attempts == 2
