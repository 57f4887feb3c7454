"""The analysis job, driven by calling the service the task calls (the worker tests run it for real)."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.sites import AdminSite
from django.utils import timezone

from core.models import QuotaUsage
from cv import services
from cv.admin import AIResponseAdmin
from cv.models import AIResponse
from cv.tests.factories import AIResponseFactory
from testing.fake_openai import DEFAULT_IMPROVED_CV, Answer, Status


def _queued(questionnaire, django_capture_on_commit_callbacks) -> AIResponse:
    with django_capture_on_commit_callbacks(execute=True):
        return services.ai_response_create(user=questionnaire.user, questionnaire=questionnaire, prompt="Focus on APIs")


def _ai_used(user) -> int:
    return QuotaUsage.objects.get(user=user, scope="ai_responses").used


@pytest.fixture
def queued(questionnaire_with_cv, enqueued, django_capture_on_commit_callbacks):
    return _queued(questionnaire_with_cv, django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_offline_analysis_succeeds_with_a_match_report(queued):
    outcome = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert outcome.state == "succeeded"
    assert queued.status == "succeeded"
    assert queued.model == "offline"
    assert queued.improved_cv.startswith("# Jane Doe")
    assert queued.changes
    assert "Kubernetes" in queued.match_report["keywords"]["missing"]
    assert queued.match_report["keywords"]["added"] == []
    assert queued.started_at <= queued.finished_at
    assert queued.lease_expires_at is None


@pytest.mark.django_db
def test_a_job_delivered_twice_runs_once(queued):
    services.ai_response_run(response_id=queued.pk)
    finished_at = AIResponse.objects.get(pk=queued.pk).finished_at

    second = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert second.state == "skipped"
    assert queued.attempts == 1
    assert queued.finished_at == finished_at


@pytest.mark.django_db
def test_llm_answer_is_stored_with_its_model_and_tokens(queued, llm_settings, fake_openai):
    improved = DEFAULT_IMPROVED_CV
    fake_openai.queue(Answer(improved_cv=improved, changes=["Added a summary."]))

    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "succeeded"
    assert (queued.model, queued.prompt_tokens, queued.completion_tokens) == ("fake-model", 120, 80)
    assert queued.improved_cv == improved
    assert queued.verification == {"status": "verified", "unsupported": [], "missing": []}
    assert len(fake_openai.requests) == 1
    assert queued.user.email not in fake_openai.requests[0].prompt_text


@pytest.mark.django_db
def test_transient_error_puts_the_job_back_for_a_later_retry(queued, llm_settings, fake_openai):
    llm_settings.CV_RETRY_BASE_SECONDS = 4
    fake_openai.queue(Status(429))

    outcome = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert outcome.state == "retry"
    assert 2 <= outcome.retry_in <= 4
    assert (queued.status, queued.attempts, queued.error) == ("pending", 1, "")


@pytest.mark.django_db
def test_transient_errors_fail_the_job_after_the_last_attempt_and_give_the_unit_back(queued, llm_settings, fake_openai):
    llm_settings.OPENAI_MAX_ATTEMPTS = 3
    fake_openai.queue(Status(500), Status(502), Status(503))

    states = [services.ai_response_run(response_id=queued.pk).state for _ in range(3)]

    queued.refresh_from_db()
    assert states == ["retry", "retry", "failed"]
    assert queued.status == "failed"
    assert "internal error" in queued.error and "3 attempts" in queued.error
    assert _ai_used(queued.user) == 0


@pytest.mark.django_db
def test_permanent_error_fails_at_once_and_gives_the_unit_back(queued, llm_settings, fake_openai):
    fake_openai.queue(Status(401))

    outcome = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert outcome.state == "failed" and outcome.retry_in is None
    assert queued.status == "failed"
    assert queued.error_code == "auth_failed"
    assert "credentials" in queued.error
    assert len(fake_openai.requests) == 1
    assert _ai_used(queued.user) == 0


@pytest.mark.django_db
def test_job_held_by_a_live_worker_is_looked_at_again_when_its_lease_ends(queued):
    lease_end = timezone.now() + timedelta(seconds=20)
    AIResponse.objects.filter(pk=queued.pk).update(status="running", attempts=1, lease_expires_at=lease_end)

    outcome = services.ai_response_run(response_id=queued.pk)

    assert outcome.state == "busy"
    assert 19 <= outcome.retry_in <= 22
    assert AIResponse.objects.get(pk=queued.pk).attempts == 1


@pytest.mark.django_db
def test_job_whose_lease_expired_is_taken_over(queued):
    AIResponse.objects.filter(pk=queued.pk).update(
        status="running", attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    outcome = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert outcome.state == "succeeded"
    assert queued.attempts == 2


@pytest.mark.django_db
def test_a_run_that_lost_its_job_does_not_overwrite_the_new_run(queued, monkeypatch):
    real_analyse = services.analyse

    def analyse_while_the_sweep_hands_the_job_to_another_worker(**kwargs):
        AIResponse.objects.filter(pk=queued.pk).update(attempts=2, lease_token=uuid.uuid4())
        return real_analyse(**kwargs)

    monkeypatch.setattr(services, "analyse", analyse_while_the_sweep_hands_the_job_to_another_worker)

    outcome = services.ai_response_run(response_id=queued.pk)

    assert outcome.state == "superseded"
    assert AIResponse.objects.get(pk=queued.pk).status == "running"


@pytest.mark.django_db
def test_unexpected_error_fails_the_job_without_leaking_details(queued, monkeypatch):
    def broken(**kwargs):
        raise KeyError("secret internals")

    monkeypatch.setattr(services, "analyse", broken)

    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "failed"
    assert queued.error == "The analysis failed because of an internal error."
    assert _ai_used(queued.user) == 0


@pytest.mark.django_db
def test_sweep_requeues_jobs_whose_worker_died(queued, enqueued, settings, django_capture_on_commit_callbacks):
    settings.OPENAI_MAX_ATTEMPTS = 3
    stuck = AIResponseFactory.create(questionnaire=queued.questionnaire, status="running", attempts=1,
                              lease_expires_at=timezone.now() - timedelta(seconds=5))  # fmt: skip
    dead_too_often = AIResponseFactory.create(questionnaire=queued.questionnaire, status="running", attempts=3,
                                       lease_expires_at=timezone.now() - timedelta(seconds=5))  # fmt: skip
    alive = AIResponseFactory.create(questionnaire=queued.questionnaire, status="running", attempts=1,
                              lease_expires_at=timezone.now() + timedelta(seconds=60))  # fmt: skip
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        counts = services.ai_responses_requeue_stuck()

    assert counts == {"requeued": 1, "failed": 1, "resent": 0}
    assert enqueued == [stuck.pk]
    assert AIResponse.objects.get(pk=stuck.pk).status == "pending"
    failed = AIResponse.objects.get(pk=dead_too_often.pk)
    assert failed.status == "failed" and "interrupted" in failed.error
    assert AIResponse.objects.get(pk=alive.pk).status == "running"


@pytest.mark.django_db
def test_sweep_resends_pending_jobs_whose_message_was_lost(queued, enqueued, django_capture_on_commit_callbacks):
    AIResponse.objects.filter(pk=queued.pk).update(enqueued_at=timezone.now() - timedelta(minutes=6))
    fresh = AIResponseFactory.create(questionnaire=queued.questionnaire, enqueued_at=timezone.now())
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        counts = services.ai_responses_requeue_stuck()

    assert counts["resent"] == 1
    assert enqueued == [queued.pk]
    assert fresh.pk not in enqueued


@pytest.mark.django_db
def test_admin_can_run_a_failed_analysis_again(queued, enqueued, rf, admin_user, django_capture_on_commit_callbacks):
    AIResponse.objects.filter(pk=queued.pk).update(status="failed", error="boom", attempts=3)
    enqueued.clear()
    request = rf.post("/admin/")
    request.user = admin_user
    model_admin = AIResponseAdmin(AIResponse, AdminSite())
    model_admin.message_user = lambda *args, **kwargs: None

    with django_capture_on_commit_callbacks(execute=True):
        model_admin.run_again(request, AIResponse.objects.filter(pk=queued.pk))

    queued.refresh_from_db()
    assert (queued.status, queued.error, queued.attempts, queued.quota_day) == ("pending", "", 0, None)
    assert enqueued == [queued.pk]


def test_retry_delay_grows_exponentially_with_jitter(settings):
    settings.CV_RETRY_BASE_SECONDS = 2
    delays = {attempt: [services.retry_delay(attempt=attempt) for _ in range(50)] for attempt in (1, 2, 3, 4)}

    for attempt, values in delays.items():
        ceiling = 2 * 2 ** (attempt - 1)
        assert all(ceiling / 2 <= value <= ceiling for value in values)
    assert len(set(delays[3])) > 1
    assert services.retry_delay(attempt=1, retry_after=30) == 30
    assert services.retry_delay(attempt=30) <= settings.CV_RETRY_MAX_SECONDS
