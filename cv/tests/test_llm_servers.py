"""Each kind of OpenAI-compatible server and model, through the whole pipeline: the API, a real Celery worker
(a subprocess on the real Redis and PostgreSQL) and the local fake OpenAI server playing that server.

The worker runs with small bounds (LLM_MAX_INPUT_CHARS=1500, OPENAI_MAX_OUTPUT_TOKENS=400, which holds about
1,400 characters), so the fixture CV (about 1,100 characters) is a normal CV and a three-page CV is one longer
than any answer can hold.
"""

import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import QuotaUsage
from cv.llm.prompt import cap_cv_text
from cv.models import AIResponse, CVQuestionnaire
from testing.fake_openai import (
    DEFAULT_IMPROVED_CV,
    DEFAULT_THOUGHT,
    Answer,
    CutOff,
    FakeOpenAI,
    MarkdownCV,
    Prose,
    Reasoning,
)
from testing.workers import llm_worker_fixtures

FIXTURES = Path(__file__).parent / "fixtures"
QUEUE = f"cv-test-llm-servers-{os.getpid()}"
WAIT_SECONDS = 45
MAX_INPUT_CHARS = 1500
MAX_OUTPUT_TOKENS = 400
# Faithful to the fixture CV and complete, so the truthfulness check passes it and no repair round takes a
# request.
IMPROVED = DEFAULT_IMPROVED_CV
# Every role of the long CV, rewritten: as long as what was sent of it, and nothing of it lost.
LONG_IMPROVED = "# Jane Long\n\n## Experience\n\n" + "\n\n".join(
    f"### Engineer, Company {n} (20{n:02d})\n\n- Built service {n} in Python and Django for the payments team.\n"
    f"- Wrote the runbooks of service {n} and ran its on-call rota."
    for n in range(1, 24)
)
LONG_CV_LAST_LINE = "Final role: shipped the last release of project 24."

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


server, worker, fake = llm_worker_fixtures(
    name="cv-llm-servers",
    queue=QUEUE,
    CV_TEST_OPENAI_TIMEOUT="5",
    CV_TEST_RETRY_BASE_SECONDS="0.2",
    LLM_MAX_INPUT_CHARS=str(MAX_INPUT_CHARS),
    OPENAI_MAX_OUTPUT_TOKENS=str(MAX_OUTPUT_TOKENS),
)


@pytest.fixture(scope="module")
def long_cv_pdf() -> bytes:
    from pdf.rendering import render_pdf

    roles = "\n\n".join(
        f"## Engineer, Company {n} (20{n:02d})\n\n- Built service {n} in Python and Django for the payments team.\n"
        f"- Ran the on-call rota of service {n} and wrote its runbooks."
        for n in range(1, 24)
    )
    markdown = f"# Jane Long\n\n## Experience\n\n{roles}\n\n## Last\n\n{LONG_CV_LAST_LINE}"
    return render_pdf(markdown=markdown, template="classic", title="CV").content


def _questionnaire(api_client, pdf: bytes) -> int:
    response = api_client.post(
        "/cv/questionnaire/",
        {
            "position": "Senior Backend Engineer",
            "experience_level": "6+",
            "job_description": (FIXTURES / "senior_backend_engineer.txt").read_text(),
            "resume": SimpleUploadedFile("cv.pdf", pdf, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def jane(api_client) -> int:
    return _questionnaire(api_client, (FIXTURES / "jane_doe_backend.pdf").read_bytes())


def _analysis(api_client, questionnaire_id: int) -> dict:
    response = api_client.post(
        "/cv/ai-responses/", {"questionnaire": questionnaire_id, "prompt": "Stress my API work"}, format="json"
    )
    assert response.status_code == 202, response.content
    response_id = response.json()["id"]
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        body = api_client.get(f"/cv/ai-responses/{response_id}/").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"ai response {response_id} did not finish within {WAIT_SECONDS}s")


def _ai_used(user) -> int:
    return QuotaUsage.objects.get(user=user, scope="ai_responses").used


def _forms(fake: FakeOpenAI) -> list[tuple[str | None, bool]]:
    return [(request.response_format_type, request.refused) for request in fake.requests]


def _reading_forms(fake: FakeOpenAI) -> set[tuple[str | None, bool]]:
    """The forms of the job's reading (cv.llm.requirements): plain lines whatever the server supports."""
    return {(request.response_format_type, request.refused) for request in fake.requirement_requests}


def test_server_refusing_json_schema_is_asked_in_json_mode_without_costing_an_attempt(api_client, user, fake, jane):
    fake.refuse_formats = {"json_schema"}
    fake.refusal_style = "vllm"
    fake.queue(Answer(improved_cv=IMPROVED, changes=["Added a summary."]))

    body = _analysis(api_client, jane)

    assert body["status"] == "succeeded", body
    assert (body["improved_cv"], body["changes"], body["model"]) == (IMPROVED, ["Added a summary."], "fake-model")
    assert body["verification"]["status"] == "verified"
    # The job's reading asks for plain lines; the rewrite meets the refusal and asks again at once.
    assert _reading_forms(fake) == {(None, False)}
    assert _forms(fake) == [("json_schema", True), ("json_object", False)]
    assert all(request.max_tokens == MAX_OUTPUT_TOKENS for request in fake.all_requests)
    stored = AIResponse.objects.get(pk=body["id"])
    assert (stored.attempts, stored.error_code) == (1, "")
    assert _ai_used(user) == 1

    # The next analysis starts with the form that worked: no refused request.
    fake.reset()
    fake.refuse_formats = {"json_schema"}
    assert _analysis(api_client, jane)["status"] == "succeeded"
    assert _forms(fake) == [("json_object", False)]


def test_server_without_structured_output_and_a_model_answering_markdown(api_client, user, fake, jane):
    fake.refuse_formats = {"json_schema", "json_object"}
    fake.refusal_style = "llamacpp"
    fake.queue(MarkdownCV(improved_cv=IMPROVED, model="llama-3.1-8b-instruct"))

    body = _analysis(api_client, jane)

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == IMPROVED
    assert body["changes"] == []
    assert body["verification"]["status"] == "verified"
    assert body["model"] == "llama-3.1-8b-instruct"
    assert body["match_report"]["keywords"]["found"]
    assert _reading_forms(fake) == {(None, False)}
    assert _forms(fake) == [("json_schema", True), ("json_object", True), (None, False)]
    assert fake.all_requests[-1] is fake.requests[-1]
    assert "Moved background jobs from cron to Celery" in fake.requests[-1].prompt_text
    assert AIResponse.objects.get(pk=body["id"]).attempts == 1


def test_reasoning_model_is_stored_without_its_thinking(api_client, fake, jane):
    fake.queue(Reasoning(improved_cv=IMPROVED, changes=["Put the API work first."], model="deepseek-r1-distill"))

    body = _analysis(api_client, jane)

    assert body["status"] == "succeeded", body
    stored = AIResponse.objects.get(pk=body["id"])
    assert stored.improved_cv == IMPROVED
    assert stored.changes == ["Put the API work first."]
    assert stored.model == "deepseek-r1-distill"
    assert stored.verification["status"] == "verified"
    # The thinking mentioned Google and Kubernetes: neither reached the stored CV nor the match report.
    assert "Google" in DEFAULT_THOUGHT and "Kubernetes" in DEFAULT_THOUGHT
    assert "<think>" not in stored.improved_cv and "Google" not in stored.improved_cv
    assert "Kubernetes" not in stored.match_report["keywords"]["added"]
    assert fake.requests[0].response_format_type == "json_schema"


def test_model_wrapping_its_json_in_prose(api_client, fake, jane):
    fake.queue(Prose(improved_cv=IMPROVED, changes=["Tightened the summary."], fenced=True))

    body = _analysis(api_client, jane)

    assert body["status"] == "succeeded", body
    assert (body["improved_cv"], body["changes"]) == (IMPROVED, ["Tightened the summary."])
    assert body["verification"]["status"] == "verified" and len(fake.requests) == 1


def test_answer_cut_off_for_a_normal_cv_fails_and_gives_the_unit_back(api_client, user, fake, jane):
    fake.queue(CutOff(improved_cv=IMPROVED))

    body = _analysis(api_client, jane)

    assert body["status"] == "failed"
    assert "cut off" in body["error"] and "not caused by your CV" in body["error"]
    assert body["improved_cv"] == ""
    assert AIResponse.objects.get(pk=body["id"]).error_code == "answer_truncated"
    assert len(fake.requests) == 1
    assert _ai_used(user) == 0


def test_cv_longer_than_any_answer_is_capped_and_its_cut_off_answer_keeps_the_unit(api_client, user, fake, long_cv_pdf):
    questionnaire_id = _questionnaire(api_client, long_cv_pdf)
    fake.queue(CutOff(improved_cv=IMPROVED * 3))

    body = _analysis(api_client, questionnaire_id)

    assert body["status"] == "failed"
    assert body["error"].startswith("Your CV is too long to be rewritten in one answer")
    assert "counts towards today's quota" in body["error"]
    assert AIResponse.objects.get(pk=body["id"]).error_code == "cv_too_long"
    assert _ai_used(user) == 1
    [request] = fake.requests
    sent_cv = request.prompt_text.split("BEGIN CV (data)", 1)[1].split("END CV (data)", 1)[0]
    assert "Built service 1 in Python" in sent_cv and LONG_CV_LAST_LINE not in sent_cv
    assert len(sent_cv) <= MAX_INPUT_CHARS + 60
    assert request.max_tokens == MAX_OUTPUT_TOKENS


def test_capped_cv_that_is_answered_says_what_was_left_out(api_client, fake, long_cv_pdf, settings):
    questionnaire_id = _questionnaire(api_client, long_cv_pdf)
    fake.queue(Answer(improved_cv=LONG_IMPROVED, changes=["Grouped the roles."]))

    body = _analysis(api_client, questionnaire_id)

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == LONG_IMPROVED and body["verification"]["status"] == "verified"
    settings.LLM_MAX_INPUT_CHARS = MAX_INPUT_CHARS
    capped = cap_cv_text(CVQuestionnaire.objects.get(pk=questionnaire_id).resume_text)
    assert capped.capped and capped.text in fake.requests[0].prompt_text
    assert body["changes"] == [
        f"Only the first {len(capped.text):,} of your CV's {capped.original_chars:,} characters were sent to the "
        "AI; what came after is not in the improved CV.",
        "Grouped the roles.",
    ]
