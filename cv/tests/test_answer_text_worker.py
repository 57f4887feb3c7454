"""A model answer holding characters the database cannot store (NUL, other control characters, lone
surrogates), through a real Celery worker on its own queue against the local fake OpenAI server: the
analysis or letter succeeds with those characters removed, is never left `running`, and the model is asked
once."""

import io
import json
import os
import time
from pathlib import Path

import docx
import pytest

from core.models import QuotaUsage
from cv.models import AIResponse, CoverLetter
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from testing.fake_openai import DEFAULT_IMPROVED_CV, Answer, MarkdownCV
from testing.workers import llm_worker_fixtures

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
QUEUE = f"cv-test-answer-text-{os.getpid()}"
WAIT_SECONDS = 45
JANE_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md").read_text()

# A complete rewrite: a fragment would be (rightly) repaired for what it drops, and asked for again.
IMPROVED = DEFAULT_IMPROVED_CV
# The same CV as a model may write it: NUL, other C0 controls, a lone surrogate and a non-character.
IMPROVED_DIRTY = (
    IMPROVED.replace("# Jane Doe", "# Jane\u0000 Doe")
    .replace("Backend engineer", "Backend\x01 engineer\ud800")
    .replace("Python, Django,", "Python, Django\uffff,")
    + "\x1f"
)
INVENTED_CV = IMPROVED.replace(
    "- Mentored two junior developers.",
    "- Mentored two junior developers.\n- Built the payments API serving 2 million requests a day on Kubernetes.",
)
FAITHFUL_CV = IMPROVED
# A letter of a realistic length: one far shorter than the words asked for is (rightly) asked for again.
LETTER = """# Jane Doe

Dear Hiring Manager,

I would like to apply for the Senior Backend Engineer role. At Ledgerly Ltd I work on the payments API in \
Django and Django REST Framework, and I am responsible for the PostgreSQL schema and its migrations.

I moved background jobs from cron to Celery with Redis, cutting nightly batch time from 4 hours to 35 \
minutes, and I helped with the Stripe billing integration. At ShopWave I wrote unit tests with pytest and \
improved coverage from 40% to 85%.

I would welcome the chance to bring this experience to your team.

Yours sincerely,

Jane Doe"""


text_fake, text_worker, fake = llm_worker_fixtures(
    name="cv-answer-text",
    queue=QUEUE,
    server="text_fake",
    worker="text_worker",
    CV_TEST_OPENAI_TIMEOUT="2",
    CV_TEST_OPENAI_MAX_ATTEMPTS="3",
    CV_TEST_RETRY_BASE_SECONDS="0.2",
)


def _finished(client, url: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body.get("status") in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} still {body.get('status')} after {WAIT_SECONDS} s")


def _ai_used(user) -> int:
    return QuotaUsage.objects.get(user=user, scope="ai_responses").used


def _analysed(api_client, questionnaire) -> dict:
    accepted = api_client.post(
        "/cv/ai-responses/", {"questionnaire": questionnaire.pk, "prompt": "Stress my API work"}, format="json"
    )
    assert accepted.status_code == 202, accepted.content
    return _finished(api_client, f"/cv/ai-responses/{accepted.json()['id']}/")


@pytest.mark.parametrize(
    "answer",
    [
        Answer(improved_cv=IMPROVED_DIRTY, changes=["Added\u0000 a summary.\x02"]),
        MarkdownCV(improved_cv=IMPROVED_DIRTY, preamble="", sign_off=""),
    ],
    ids=["json", "markdown"],
)
def test_an_answer_holding_nul_is_stored_without_it(api_client, user, fake, questionnaire_with_cv, answer):
    fake.queue(answer)

    body = _analysed(api_client, questionnaire_with_cv)

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == IMPROVED
    assert body["changes"] in (["Added a summary."], [])
    assert body["verification"] == {"status": "verified", "unsupported": [], "missing": []}
    assert body["match_report"]["score_after"] is not None
    # Asked once, counted once: no sweep retry ran the model again, and the unit stays used.
    assert len(fake.requests) == 1
    assert AIResponse.objects.get(pk=body["id"]).attempts == 1
    assert _ai_used(user) == 1


def test_a_repaired_answer_holding_nul_is_stored_without_it(api_client, user, fake, questionnaire_with_cv):
    fake.queue(Answer(improved_cv=INVENTED_CV), Answer(improved_cv=FAITHFUL_CV.replace("Ledgerly", "Ledg\u0000erly")))

    body = _analysed(api_client, questionnaire_with_cv)

    assert body["status"] == "succeeded", body
    assert body["improved_cv"] == FAITHFUL_CV
    assert body["verification"] == {"status": "verified", "unsupported": [], "missing": []}
    assert len(fake.requests) == 2
    assert _ai_used(user) == 1


@pytest.fixture
def analysis(user, jane_cv_text, backend_job):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    return AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN)


def test_a_letter_holding_nul_is_stored_without_it(api_client, user, fake, analysis):
    dirty = LETTER.replace("Dear", "Dear\u0000").replace("Ledgerly", "Ledgerly\x01\ud800")
    fake.queue(Answer(content=json.dumps({"letter": dirty})))

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {}, format="json")
    assert accepted.status_code == 202, accepted.content
    letter = _finished(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert letter["status"] == "succeeded", letter["error"]
    assert letter["letter"] == LETTER
    assert letter["verification"] == {"status": "verified", "unsupported": []}
    assert len(fake.requests) == 1
    assert CoverLetter.objects.get(pk=letter["id"]).attempts == 1
    assert _ai_used(user) == 1


def test_an_answer_with_a_control_character_is_exported_to_word(api_client, fake, questionnaire_with_cv):
    # No NUL, so the database would take it as it was; the Word file's XML would not.
    fake.queue(Answer(improved_cv=IMPROVED.replace("Backend", "Backend\x01")))

    body = _analysed(api_client, questionnaire_with_cv)
    word = api_client.get(f"/cv/ai-responses/{body['id']}/export/?format=docx")

    assert body["improved_cv"] == IMPROVED
    assert word.status_code == 200
    assert "Backend engineer with 6 years" in "\n".join(
        p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs
    )
