"""An unexpected error anywhere in an analysis or a letter job, called as the task calls it: the job ends
`failed` with an error the person can read and its AI unit back (the fault is ours), never `running` until
the sweep runs it (and the model) again."""

from pathlib import Path

import pytest

from core.models import QuotaUsage
from cv import services
from cv.letters import services as letters
from cv.models import AIResponse, CoverLetter
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory

pytestmark = pytest.mark.django_db
JANE_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md").read_text()


def _ai_used(user) -> int:
    return QuotaUsage.objects.get(user=user, scope="ai_responses").used


@pytest.fixture
def queued(questionnaire_with_cv, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.ai_response_create(
            user=questionnaire_with_cv.user, questionnaire=questionnaire_with_cv, prompt="Focus on APIs"
        )


def test_an_error_after_the_answer_fails_the_analysis_and_gives_the_unit_back(queued, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug in the truthfulness round")

    monkeypatch.setattr(services, "verify_and_repair", broken)
    assert _ai_used(queued.user) == 1

    outcome = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert outcome.state == "failed"
    assert (queued.status, queued.error_code) == (AIResponse.Status.FAILED, "internal_error")
    assert queued.error == "The analysis failed because of an internal error."
    assert "bug" not in queued.error
    assert queued.lease_token is None and queued.finished_at is not None
    assert _ai_used(queued.user) == 0
    # Finished: a second delivery of the task does not run it (nor call the model) again.
    assert services.ai_response_run(response_id=queued.pk).state == "skipped"
    assert AIResponse.objects.get(pk=queued.pk).attempts == 1


@pytest.fixture
def letter(user, jane_cv_text, backend_job, monkeypatch):
    from cv.tasks import write_cover_letter

    monkeypatch.setattr(write_cover_letter, "apply_async", lambda *args, **options: None)
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    analysis = AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN)
    return letters.cover_letter_create(user=user, ai_response_id=analysis.pk, tone="formal", words=300)


# Out of a test transaction, as the worker runs: the failed write is not left to roll back the ones after it.
@pytest.mark.django_db(transaction=True)
def test_a_letter_whose_result_cannot_be_stored_fails_and_gives_the_unit_back(letter, monkeypatch):
    def written_with_a_broken_check(*, letter):
        # A fault of ours after the letter was written: its check returned something no column can hold.
        return letters.WrittenLetter(letter="# Jane Doe\n\nDear Hiring Manager,\n", model="offline"), {"bad": {1}}

    monkeypatch.setattr(letters, "write_letter", written_with_a_broken_check)
    assert _ai_used(letter.user) == 1

    outcome = letters.cover_letter_run(letter_id=letter.pk)

    letter.refresh_from_db()
    assert outcome.state == "failed"
    assert (letter.status, letter.error_code) == (CoverLetter.Status.FAILED, "internal_error")
    assert letter.error == "The letter could not be written because of an internal error."
    assert letter.letter == "" and letter.lease_token is None
    assert _ai_used(letter.user) == 0
