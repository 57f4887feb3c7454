"""A cover letter job run as the task runs it, against the local fake model: a repair round that breaks keeps
the first letter, and a letter past its bound fails with the bound's code instead of being cut."""

import json
from pathlib import Path

import pytest

from core.models import QuotaUsage
from cv.letters import services as letters
from cv.models import CoverLetter
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from cv.tests.test_formats_worker import LLM_LETTER
from testing.fake_openai import Answer

pytestmark = pytest.mark.django_db
JANE_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md").read_text()
INVENTED = LLM_LETTER.replace("At Ledgerly Ltd I own the payments API.", "At Google I led 40 engineers.")


def _ai_used(user) -> int:
    return QuotaUsage.objects.get(user=user, scope="ai_responses").used


@pytest.fixture
def letter(user, jane_cv_text, backend_job, llm_settings, monkeypatch):
    from cv.tasks import write_cover_letter

    monkeypatch.setattr(write_cover_letter, "apply_async", lambda *args, **options: None)
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    analysis = AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN)
    return letters.cover_letter_create(user=user, ai_response_id=analysis.pk, tone="formal", words=300)


def test_a_crash_in_the_repair_round_keeps_the_first_letter_and_its_flags(letter, fake_openai, monkeypatch):
    fake_openai.queue(Answer(content=json.dumps({"letter": INVENTED})))
    real_write = letters.write_with_llm
    calls = []

    def write_then_break(**kwargs):
        calls.append(kwargs.get("correction", ""))
        if kwargs.get("correction"):
            raise RuntimeError("a bug in the repair round")
        return real_write(**kwargs)

    monkeypatch.setattr(letters, "write_with_llm", write_then_break)

    outcome = letters.cover_letter_run(letter_id=letter.pk)

    letter.refresh_from_db()
    assert outcome.state == "succeeded"
    assert "without exactly these claims" in calls[-1]  # the repair round was reached, and broke
    assert (letter.status, letter.error, letter.error_code) == (CoverLetter.Status.SUCCEEDED, "", "")
    assert letter.letter == INVENTED.strip()
    assert letter.verification["status"] == "flagged"
    assert ("organisation", "Google") in {(c["kind"], c["text"]) for c in letter.verification["unsupported"]}
    assert _ai_used(letter.user) == 1


def test_a_letter_past_its_bound_fails_with_the_bounds_code_and_gives_the_unit_back(letter, fake_openai, settings):
    long_letter = LLM_LETTER.replace("Yours sincerely,", "I mentored two junior developers.\n\n" * 400 + "Yours,")
    assert len(long_letter) > settings.CV_MAX_LETTER_CHARS
    fake_openai.queue(Answer(content=json.dumps({"letter": long_letter})))

    outcome = letters.cover_letter_run(letter_id=letter.pk)

    letter.refresh_from_db()
    assert outcome.state == "failed"
    assert (letter.status, letter.error_code) == (CoverLetter.Status.FAILED, "answer_text_too_long")
    assert f"the limit is {settings.CV_MAX_LETTER_CHARS:,}" in letter.error
    assert letter.letter == ""
    assert _ai_used(letter.user) == 0


def test_a_letter_within_a_lower_bound_set_in_settings_is_refused_at_that_bound(letter, fake_openai, settings):
    settings.CV_MAX_LETTER_CHARS = 500
    fake_openai.queue(Answer(content=json.dumps({"letter": LLM_LETTER})))

    letters.cover_letter_run(letter_id=letter.pk)

    letter.refresh_from_db()
    assert letter.error_code == "answer_text_too_long"
    assert "the limit is 500." in letter.error
