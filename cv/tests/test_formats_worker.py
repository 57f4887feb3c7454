"""Word in, every format out, cover letters and their PDFs, through real Celery workers on the real Redis:
the session worker (offline analyser) and, for the LLM path, a worker of this module's own on its own queue
pointed at a local fake OpenAI server."""

import io
import json
import os
import time
from pathlib import Path

import docx
import jsonschema
import pytest
from pypdf import PdfReader

from core.models import QuotaUsage
from cv.models import CoverLetter
from cv.outputs.jsonresume import schema
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from cv.tests.test_docx_upload import word_cv
from testing.fake_openai import Answer, Status
from testing.workers import llm_worker_fixtures

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
WAIT_SECONDS = 45
LETTER_QUEUE = f"cv-test-letters-{os.getpid()}"
JANE_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md").read_text()
LLM_LETTER = """# Jane Doe

Dear Hiring Manager,

I would like to apply for the Senior Backend Engineer role. At Ledgerly Ltd I own the payments API.

- Moved nightly batch processing to Celery with Redis, cutting run time from 4 hours to 35 minutes.
- Wrote unit tests with pytest and improved coverage from 40% to 85%.

I have built Python web services for 6 years: the payments API in Django and Django REST Framework, the \
PostgreSQL schema and its migrations, and the Stripe billing integration with its webhook handling. I also \
mentored two junior developers. I would welcome the chance to bring this experience to your team.

Yours sincerely,

Jane Doe
"""


def _wait(client, url: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    body: dict = {}
    while time.monotonic() < deadline:
        answer = client.get(url)
        body = answer.json()
        assert answer.status_code == 200, body
        if body.get("status") in ("succeeded", "failed"):
            return body
        # Slow enough to stay inside the Free plan's API calls per hour.
        time.sleep(0.5)
    raise AssertionError(f"{url} still {body.get('status')} after {WAIT_SECONDS} s")


def _ai_used(user) -> int:
    row = QuotaUsage.objects.filter(user=user, scope="ai_responses").first()
    return row.used if row else 0


def test_a_word_cv_is_analysed_and_comes_back_in_every_format(celery_worker, api_client, backend_job):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("cv.docx", word_cv(), content_type="application/msword")
    created = api_client.post(
        "/cv/questionnaire/",
        {"position": "Senior Backend Engineer", "job_description": backend_job, "resume": upload},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    queued = api_client.post("/cv/ai-responses/", {"questionnaire": created.json()["id"]}, format="json")
    analysis = _wait(api_client, f"/cv/ai-responses/{queued.json()['id']}/")
    assert analysis["status"] == "succeeded", analysis["error"]

    word = api_client.get(f"/cv/ai-responses/{analysis['id']}/export/?format=docx")
    assert word.status_code == 200
    document = docx.Document(io.BytesIO(word.content))
    styles = {p.style.name for p in document.paragraphs}
    assert {"Heading 1", "Heading 2", "List Bullet"} <= styles
    assert "Moved batch processing to Celery, cutting run time from 4 hours to 35 minutes." in "\n".join(
        p.text for p in document.paragraphs
    )
    resume = json.loads(api_client.get(f"/api/ai-responses/{analysis['id']}/export/?format=json").content)
    jsonschema.validate(resume, schema())
    assert resume["basics"]["name"] == "Jane Doe"
    text = api_client.get(f"/cv/ai-responses/{analysis['id']}/export/?format=txt").content.decode()
    assert "Review against the job" not in text
    changes = api_client.get(f"/cv/ai-responses/{analysis['id']}/diff/").json()
    assert changes["stats"]["unchanged"] >= 5
    assert {line["op"] for line in changes["lines"]} <= {"equal", "insert", "delete"}


def test_offline_letter_is_written_on_a_worker_and_rendered_as_an_ats_readable_pdf(
    celery_worker, api_client, user, jane_cv_text, backend_job
):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    analysis = AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN)

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {"tone": "direct"}, format="json")
    assert accepted.status_code == 202
    letter = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded", letter["error"]
    assert letter["model"] == "offline"
    assert letter["verification"] == {"status": "verified", "unsupported": []}
    assert letter["letter"].startswith("# Jane Doe\n") and "Hello," in letter["letter"]
    assert letter["started_at"] and letter["finished_at"]
    assert _ai_used(user) == 1

    rendering = api_client.post(f"/cv/cover-letters/{letter['id']}/generate-pdf/")
    assert rendering.status_code == 202
    assert rendering.json()["cover_letter"] == letter["id"]
    assert rendering.json()["template"] == "letter"
    document = _wait(api_client, f"/pdf/documents/{rendering.json()['id']}/")
    assert document["status"] == "succeeded", document["error"]
    download = api_client.get(document["download_url"])
    assert download.status_code == 200, download.content
    assert download["Content-Disposition"].startswith('attachment; filename="cover-letter-senior-backend-engineer')
    pdf_text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(b"".join(download.streaming_content))).pages
    )
    squashed = " ".join(pdf_text.split())
    position = 0
    for line in letter["letter"].splitlines():
        line = line.lstrip("#- ").strip()
        if line:
            found = squashed.find(" ".join(line.split()), position)
            assert found >= 0, f"{line!r} missing or out of order in the letter PDF"
            position = found + len(line)
    assert not set(pdf_text) & set("\ufb00\ufb01\ufb02\ufb03\ufb04")

    again = api_client.post(f"/api/cover-letters/{letter['id']}/generate-pdf/")
    assert again.json()["id"] == document["id"]


letter_fake, letter_worker, fake = llm_worker_fixtures(
    name="cv-letters",
    queue=LETTER_QUEUE,
    server="letter_fake",
    worker="letter_worker",
    CV_TEST_OPENAI_TIMEOUT="2",
    CV_TEST_OPENAI_MAX_ATTEMPTS="3",
    CV_TEST_RETRY_BASE_SECONDS="0.2",
)


@pytest.fixture
def analysis(user, jane_cv_text, backend_job):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    return AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN)


def test_llm_letter_is_retried_after_a_transient_error_and_stored(fake, api_client, user, analysis):
    fake.queue(Status(503), Answer(content=json.dumps({"letter": LLM_LETTER})))

    accepted = api_client.post(
        f"/cv/ai-responses/{analysis.pk}/cover-letter/", {"tone": "warm", "words": 200}, format="json"
    )
    letter = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded", letter["error"]
    assert letter["letter"] == LLM_LETTER.strip()
    assert letter["model"] == "fake-model"
    assert letter["verification"] == {"status": "verified", "unsupported": []}
    assert CoverLetter.objects.get(pk=letter["id"]).attempts == 2
    assert len(fake.requests) == 2
    prompt = fake.requests[-1].prompt_text
    assert "warm and personable" in prompt and "about 200 words" in prompt
    assert "Senior Backend Engineer" in prompt and "Ledgerly" in prompt
    # Contact details never reach the model; the letter gets them back.
    assert "jane.doe@example.com" not in prompt
    assert _ai_used(user) == 1


def test_llm_letter_that_is_not_json_is_taken_as_markdown(fake, api_client, analysis):
    fake.queue(Answer(content=LLM_LETTER))

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {}, format="json")
    letter = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded", letter["error"]
    assert letter["letter"] == LLM_LETTER.strip()


def test_a_permanent_llm_error_fails_the_letter_and_gives_the_unit_back(fake, api_client, user, analysis):
    fake.queue(Status(401, message="bad key"))

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {}, format="json")
    letter = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "failed"
    assert "credentials" in letter["error"]
    assert letter["letter"] == ""
    assert _ai_used(user) == 0


def test_a_letter_claiming_what_the_cv_does_not_is_repaired_once_and_checked_again(fake, api_client, analysis):
    invented = LLM_LETTER.replace("At Ledgerly Ltd I own the payments API.", "At Google I led 40 engineers.")
    fake.queue(Answer(content=json.dumps({"letter": invented})), Answer(content=json.dumps({"letter": LLM_LETTER})))

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {}, format="json")
    letter = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded", letter["error"]
    assert letter["letter"] == LLM_LETTER.strip()
    assert letter["verification"] == {"status": "verified", "unsupported": []}
    assert len(fake.requests) == 2
    correction = fake.requests[1].prompt_text
    assert "without exactly these claims" in correction and "Google" in correction


def test_a_letter_still_flagged_after_the_repair_says_what_is_unsupported(fake, api_client, analysis):
    invented = LLM_LETTER.replace("At Ledgerly Ltd I own the payments API.", "At Google I led 40 engineers.")
    fake.queue(Answer(content=json.dumps({"letter": invented})), Answer(content=json.dumps({"letter": invented})))

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {}, format="json")
    letter = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded"
    assert letter["verification"]["status"] == "flagged"
    flagged = {(claim["kind"], claim["text"]) for claim in letter["verification"]["unsupported"]}
    assert ("organisation", "Google") in flagged
