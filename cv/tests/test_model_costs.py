"""What the model costs: every answered request is stored with its tokens and cost, charged to its analysis
(repair rounds included), its owner and plan; `manage.py model_costs` totals a day of fake-model analyses
per day, person, plan and model."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import ModelCall
from core.tests.factories import PlanFactory, UserFactory
from cv import services
from cv.models import AIResponse
from cv.tests.factories import QuestionnaireFactory
from cv.tests.test_verification_repair import INVENTED, REPAIRED
from testing.fake_openai import Answer

pytestmark = pytest.mark.django_db

# The fake answers every request with 120 prompt and 80 completion tokens.
PER_CALL = (120 * Decimal("0.15") + 80 * Decimal("0.60")) / 1_000_000  # $0.000066


@pytest.fixture
def priced(llm_settings):
    llm_settings.LLM_PRICES = {"fake-model": (Decimal("0.15"), Decimal("0.60"))}
    return llm_settings


def _analyse(user, jane_cv_text, backend_job, enqueued, capture) -> AIResponse:
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    with capture(execute=True):
        response = services.ai_response_create(user=user, questionnaire=questionnaire, prompt="")
    services.ai_response_run(response_id=response.pk)
    response.refresh_from_db()
    assert response.status == "succeeded", response.error
    return response


def _report(*args: str) -> list[list[str]]:
    out = StringIO()
    call_command("model_costs", *args, stdout=out)
    return [line.split("  ") for line in out.getvalue().splitlines()]


def _cells(report: list[list[str]]) -> dict[str, list[str]]:
    return {line[0].strip(): [cell.strip() for cell in line[1:] if cell.strip()] for line in report}


@pytest.fixture
def a_day_of_analyses(
    priced, fake_openai, jane_cv_text, backend_job, enqueued, django_capture_on_commit_callbacks, user
):
    """Today: a Basic user's two analyses (one with a repair round), a Free user's one, each first reading its
    job (two calls each: its terms, then the CV's words for them); yesterday: one call."""
    basic = UserFactory.create(username="basic-person", plan=PlanFactory.create(slug="basic"))
    free = UserFactory.create(username="free-person")
    fake_openai.queue(Answer(improved_cv=INVENTED), Answer(improved_cv=REPAIRED))
    repaired = _analyse(basic, jane_cv_text, backend_job, enqueued, django_capture_on_commit_callbacks)
    fake_openai.queue(Answer(improved_cv=REPAIRED))
    plain = _analyse(basic, jane_cv_text, backend_job, enqueued, django_capture_on_commit_callbacks)
    fake_openai.queue(Answer(improved_cv=REPAIRED))
    _analyse(free, jane_cv_text, backend_job, enqueued, django_capture_on_commit_callbacks)
    ModelCall.objects.create(
        created_at=timezone.now() - timedelta(days=1),
        user=free,
        plan="free",
        model="fake-model",
        mode="json_schema",
        prompt_tokens=1000,
        completion_tokens=1000,
        cost=Decimal("0.00075"),
    )
    return basic, free, repaired, plain


def test_each_call_is_stored_against_its_analysis_repair_rounds_included(a_day_of_analyses):
    basic, _, repaired, plain = a_day_of_analyses
    calls = ModelCall.objects.filter(job_kind="analysis", job_id=repaired.pk)
    assert calls.count() == 4  # the reading of the job (two plain calls), the answer and its repair round
    assert {(c.user_id, c.plan, c.model, c.mode) for c in calls} == {
        (basic.pk, "basic", "fake-model", "prompt"),
        (basic.pk, "basic", "fake-model", "json_schema"),
    }
    assert calls.filter(mode="prompt").count() == 2
    assert sum(c.prompt_tokens for c in calls) == 480
    assert sum(c.completion_tokens for c in calls) == 320
    # The analysis row counts its answer and repair round; the reading of the job is counted with the calls.
    assert (repaired.prompt_tokens, repaired.completion_tokens) == (240, 160)
    assert all(c.cost == PER_CALL for c in calls)
    assert ModelCall.objects.filter(job_kind="analysis", job_id=plain.pk).count() == 3


def test_the_cost_report_of_a_day_of_fake_model_analyses(a_day_of_analyses):
    by_day = _cells(_report("--days", "1"))
    today = timezone.now().date().isoformat()
    assert list(by_day) == ["day", today, "total"]
    assert by_day[today] == ["10", "1200", "800", f"${10 * PER_CALL:.4f}", "0"]

    by_user = _cells(_report("--days", "1", "--by", "user"))
    basic_row = next(key for key in by_user if key.startswith("basic-person"))
    free_row = next(key for key in by_user if key.startswith("free-person"))
    assert by_user[basic_row][:3] == ["7", "840", "560"]
    assert by_user[free_row][:3] == ["3", "360", "240"]

    by_plan = _cells(_report("--days", "1", "--by", "plan"))
    assert by_plan["basic"][:3] == ["7", "840", "560"]
    assert by_plan["free"][:3] == ["3", "360", "240"]

    # Two days: yesterday's call too.
    two_days = _cells(_report("--days", "2", "--by", "model"))
    assert two_days["fake-model"] == ["11", "2200", "1800", f"${10 * PER_CALL + Decimal('0.00075'):.4f}", "0"]


def test_a_model_without_a_price_is_counted_as_unpriced(a_day_of_analyses, settings):
    ModelCall.objects.create(model="unpriced-model", mode="prompt", prompt_tokens=10, completion_tokens=5)
    by_model = _cells(_report("--days", "1", "--by", "model"))
    assert by_model["unpriced-model"] == ["1", "10", "5", "$0.0000", "1"]
    assert by_model["total"][-1] == "1"


def test_the_report_refuses_a_bad_period(db):
    with pytest.raises(CommandError):
        _report("--days", "0")


def test_the_admin_shows_the_calls_and_their_totals(a_day_of_analyses, admin_client):
    listed = admin_client.get("/admin/core/modelcall/")
    assert listed.status_code == 200
    assert listed.content.decode().count("fake-model") >= 5

    totals = admin_client.get("/admin/core/modelcall/totals/", {"by": "plan", "days": "1"})
    assert totals.status_code == 200
    page = totals.content.decode()
    assert "<td>basic</td><td>7</td><td>840</td><td>560</td>" in page
    assert f"<th>${10 * PER_CALL:.4f}</th>" in page
    # A period or grouping it does not know falls back to the defaults instead of failing.
    assert admin_client.get("/admin/core/modelcall/totals/", {"by": "nope", "days": "x"}).status_code == 200


def test_a_cover_letters_model_calls_are_charged_to_the_letter(priced, fake_openai, user, jane_cv_text, monkeypatch):
    from cv.letters import services as letters
    from cv.tasks import write_cover_letter
    from cv.tests.factories import AIResponseFactory

    monkeypatch.setattr(write_cover_letter, "apply_async", lambda *args, **options: None)
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text)
    analysis = AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=REPAIRED)
    letter = letters.cover_letter_create(user=user, ai_response_id=analysis.pk, tone="formal", words=300)

    letters.cover_letter_run(letter_id=letter.pk)

    calls = ModelCall.objects.filter(job_kind="cover_letter", job_id=letter.pk)
    assert calls.count() == len(fake_openai.answered) >= 1
    assert {(c.user_id, c.plan, c.cost) for c in calls} == {(user.pk, "free", PER_CALL)}
    # The analysis it was written from was not charged again.
    assert not ModelCall.objects.filter(job_kind="analysis").exists()
