"""Writes and business rules of the CV app: AI analyses and their jobs (questionnaires and CV uploads:
cv.questionnaires, re-exported here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import jobs, redis_safety
from core.exceptions import NotFound
from core.models import User
from core.quotas import quota_consume, quota_release
from cv import gates, llm, matching, offline, piecewise
from cv.jobs import ANALYSIS_JOB, set_stage
from cv.models import AIResponse, CVQuestionnaire, Stage
from cv.questionnaires import ExtractedResume as ExtractedResume
from cv.questionnaires import UploadInProgress as UploadInProgress
from cv.questionnaires import questionnaire_create as questionnaire_create
from cv.questionnaires import questionnaire_delete as questionnaire_delete
from cv.questionnaires import questionnaire_update as questionnaire_update
from cv.questionnaires import resume_validate as resume_validate
from cv.verification import answer_cleaned, verify_and_repair

logger = logging.getLogger(__name__)

# A pending job whose message may have been lost (broker restart, enqueue failure) is queued again after this.
PENDING_REQUEUE_AFTER = timedelta(minutes=5)
INTERRUPTED_MESSAGE = "The analysis was interrupted too many times; please try again."


def ai_response_create(*, user: User, questionnaire: CVQuestionnaire, prompt: str) -> AIResponse:
    """Queue an analysis of the questionnaire's CV (one unit of the daily AI quota, given back on failure).

    The job is sent once the row is committed. If the broker cannot take it, the row is deleted and the unit
    given back, and the caller gets RedisUnavailable (503): nothing is left half-done. (Called inside a
    transaction of the caller's, the send happens at that commit and the stuck-job sweep re-sends it.)
    """
    created: list[AIResponse] = []
    try:
        with transaction.atomic():
            if questionnaire.user_id != user.pk:
                raise NotFound("Questionnaire not found.")
            if not questionnaire.resume_text:
                raise ValidationError(
                    {"questionnaire": ["This questionnaire has no CV yet: upload your CV (a PDF) to it first."]}
                )
            day = quota_consume(user=user, scope="ai_responses")
            response = AIResponse.objects.create(
                questionnaire=questionnaire, user=user, prompt=prompt, quota_day=day, enqueued_at=timezone.now()
            )
            created.append(response)
            transaction.on_commit(lambda: _send_analysis(response.pk))
    except redis_safety.RedisUnavailable:
        if created:
            _ai_response_withdraw(response=created[0])
        raise
    logger.info("ai response queued id=%s user_id=%s", response.pk, user.pk)
    return response


@transaction.atomic
def _ai_response_withdraw(*, response: AIResponse) -> None:
    """Undo a request whose job could not be queued: the row goes, and so does the quota unit it took."""
    deleted, _ = AIResponse.objects.filter(pk=response.pk, status=AIResponse.Status.PENDING).delete()
    if deleted and response.quota_day is not None:
        quota_release(user=response.user_id, scope="ai_responses", day=response.quota_day)
    logger.info("ai response withdrawn id=%s (broker unavailable)", response.pk)


def _send_analysis(response_id: int) -> None:
    from cv.tasks import run_analysis

    # CV_ANALYSIS_QUEUE overrides the route (cv.tasks.* -> ai), e.g. to give a test its own worker.
    queue = settings.CV_ANALYSIS_QUEUE
    redis_safety.send_task(run_analysis, (response_id,), **({"queue": queue} if queue else {}))


def _enqueue_on_commit(response_id: int) -> None:
    # robust: a sweep or an admin action whose send fails is not lost; the sweep queues it again later.
    transaction.on_commit(lambda: _send_analysis(response_id), robust=True)


@transaction.atomic
def ai_response_run_again(*, response: AIResponse) -> AIResponse:
    """Start a finished or stuck analysis over (an admin action; it costs the person no quota)."""
    AIResponse.objects.filter(pk=response.pk).update(
        status=AIResponse.Status.PENDING,
        stage=Stage.QUEUED,
        attempts=0,
        error="",
        error_code="",
        lease_expires_at=None,
        lease_token=None,
        started_at=None,
        finished_at=None,
        quota_day=None,
        enqueued_at=timezone.now(),
    )
    _enqueue_on_commit(response.pk)
    response.refresh_from_db()
    return response


@dataclass(frozen=True)
class RunOutcome:
    """What the task must do next: nothing, or run again after ``retry_in`` seconds."""

    state: str
    retry_in: float | None = None


def retry_delay(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential back-off with jitter: about base x 2^(attempt-1), randomised so retries spread out."""
    delay = jobs.backoff_seconds(
        attempt, base=settings.CV_RETRY_BASE_SECONDS, cap=settings.CV_RETRY_MAX_SECONDS, jitter=True
    )
    if retry_after:
        delay = max(delay, min(retry_after, settings.CV_RETRY_MAX_SECONDS))
    return delay


def _claim(response_id: int) -> AIResponse | None:
    return jobs.claim(
        ANALYSIS_JOB,
        pk=response_id,
        claimable=Q(status=AIResponse.Status.PENDING),
        fetch=AIResponse.objects.select_related("questionnaire"),
        started_at=Coalesce("started_at", Value(timezone.now())),
        stage=Stage.READING_JOB,
    )


def _finish(response: AIResponse, **fields) -> bool:
    """Write a result only if this run still holds the job: a run the sweep or an admin replaced (same
    attempt number or not) must not overwrite the run that replaced it."""
    return jobs.finish(ANALYSIS_JOB, response, **fields)


@transaction.atomic
def _fail(response: AIResponse, *, message: str, code: str, refund: bool = True) -> None:
    """Mark the job failed. Its quota unit goes back unless the person caused the failure (``refund``
    False: a CV longer than any answer can hold, where trying again gives the same result)."""
    failed = {"status": AIResponse.Status.FAILED, "stage": Stage.DONE, "error": message, "error_code": code}
    if _finish(response, **failed, finished_at=timezone.now()):
        if refund and response.quota_day is not None:
            quota_release(user=response.user_id, scope="ai_responses", day=response.quota_day)
        logger.info(
            "ai response failed id=%s code=%s attempts=%s refunded=%s", response.pk, code, response.attempts, refund
        )


def analyse(
    *, questionnaire: CVQuestionnaire, prompt: str, renew: Callable[[], object] = lambda: None
) -> llm.AnalysisResult:
    """The configured LLM (the whole CV in one answer, or part by part: OPENAI_REWRITE), or the offline
    analyser when there is no API key; the answer cleaned of what the database cannot store (a model may
    write NUL). ``renew`` keeps the job's lease while a part-by-part rewrite makes its calls."""
    fields, cv_text = questionnaire.job_fields(), questionnaire.resume_text
    if not llm.is_configured():
        result = offline.analyse(questionnaire_fields=fields, cv_text=cv_text, prompt=prompt)
    elif settings.OPENAI_REWRITE == "sections":
        result = piecewise.analyse(questionnaire_fields=fields, cv_text=cv_text, prompt=prompt, renew=renew)
    else:
        result = llm.analyse(questionnaire_fields=fields, cv_text=cv_text, prompt=prompt)
    return answer_cleaned(result)


def _gate_context(response: AIResponse) -> gates.Context:
    questionnaire = response.questionnaire
    return gates.Context(
        kind=gates.CV,
        # What the model was sent of the CV: a capped CV's later part is not expected in the answer.
        source_text=llm.cap_cv_text(questionnaire.resume_text).text,
        request_text=response.prompt,
        job_text=matching.job_text_of(questionnaire.job_fields()),
    )


def _pass_gates(*, response: AIResponse, result: llm.AnalysisResult) -> llm.AnalysisResult:
    """The model's answer if it passes every gate (cv.gates), else its answer to one corrective retry that
    names what was wrong; an answer that still fails is an LLMPermanentError with that gate's code (the
    unit goes back: the model failed, not the person)."""
    if result.model == offline.MODEL_NAME or not result.messages:
        return result
    set_stage(ANALYSIS_JOB, response, Stage.CHECKING)
    context = _gate_context(response)
    gate = gates.first_failure(result.improved_cv_markdown, context)
    if gate is None:
        return result
    if result.model_text is not None:
        # Written part by part for a small model, each part already asked again once: asking that model for
        # the whole CV instead is what part by part avoids (it loses the person's facts).
        raise llm.LLMPermanentError(gates.person_message(gate), code=gate.error_code)
    logger.info("ai response answer failed gate id=%s gate=%s: asking once more", response.pk, gate.error_code)
    set_stage(ANALYSIS_JOB, response, Stage.REPAIRING)
    jobs.renew(ANALYSIS_JOB, response)
    messages = [
        *result.messages,
        {"role": "assistant", "content": result.improved_cv_markdown},
        {"role": "user", "content": gates.correction_for(gate, context)},
    ]
    corrected = llm.complete_cv(messages=messages)
    still = gates.first_failure(corrected.improved_cv, context)
    if still is not None:
        raise llm.LLMPermanentError(gates.person_message(still), code=still.error_code)
    # llm.analyse puts its note about a capped CV first; the corrected answer is still of that capped CV.
    notes = result.changes[:1] if llm.cap_cv_text(response.questionnaire.resume_text).capped else []
    return replace(
        result,
        improved_cv_markdown=corrected.improved_cv,
        changes=[*notes, *corrected.changes],
        model=corrected.model or result.model,
        prompt_tokens=_add(result.prompt_tokens, corrected.prompt_tokens),
        completion_tokens=_add(result.completion_tokens, corrected.completion_tokens),
        finish_reason=corrected.finish_reason,
        messages=tuple(messages),
        model_text=None,
    )


def _add(first: int | None, second: int | None) -> int | None:
    return None if first is None and second is None else (first or 0) + (second or 0)


def ai_response_run(*, response_id: int) -> RunOutcome:
    """Run one attempt of an analysis job. Safe to call twice: only one caller can hold the job."""
    response = _claim(response_id)
    if response is None:
        current = AIResponse.objects.filter(pk=response_id).values("status", "lease_expires_at").first()
        if current and current["status"] == AIResponse.Status.RUNNING and current["lease_expires_at"]:
            # Another run holds the job (a duplicate delivery, or a worker that is still alive): look again
            # when its lease ends, so the job finishes even if that run's worker has died.
            wait = (current["lease_expires_at"] - timezone.now()).total_seconds()
            return RunOutcome(state="busy", retry_in=max(wait, 0) + 1)
        return RunOutcome(state="skipped")
    return jobs.run_claimed(response, _attempt, crashed=_crashed)


def _crashed(response: AIResponse, exc: Exception) -> RunOutcome:
    # Our fault, not the person's: the unit goes back, and the job is not run (nor the model paid) again.
    _fail(response, message="The analysis failed because of an internal error.", code="internal_error")
    return RunOutcome(state="failed")


def _attempt(response: AIResponse) -> RunOutcome:
    max_attempts = settings.OPENAI_MAX_ATTEMPTS
    if response.attempts > max_attempts:
        _fail(response, message=INTERRUPTED_MESSAGE, code="interrupted")
        return RunOutcome(state="failed")

    questionnaire = response.questionnaire
    try:
        set_stage(ANALYSIS_JOB, response, Stage.WRITING)
        result = analyse(
            questionnaire=questionnaire, prompt=response.prompt, renew=lambda: jobs.renew(ANALYSIS_JOB, response)
        )
        result = _pass_gates(response=response, result=result)
    except llm.LLMTransientError as exc:
        if response.attempts >= max_attempts:
            _fail(response, message=f"{exc.message} We gave up after {response.attempts} attempts.", code=exc.code)
            return RunOutcome(state="failed")
        delay = retry_delay(attempt=response.attempts, retry_after=exc.retry_after)
        _finish(response, status=AIResponse.Status.PENDING, stage=Stage.QUEUED, enqueued_at=timezone.now())
        logger.info(
            "ai response retry id=%s code=%s attempt=%s in=%.1fs", response.pk, exc.code, response.attempts, delay
        )
        return RunOutcome(state="retry", retry_in=delay)
    except llm.LLMPermanentError as exc:
        _fail(response, message=exc.message, code=exc.code, refund=exc.refund)
        return RunOutcome(state="failed")
    except Exception:
        logger.exception("ai response crashed id=%s", response.pk)
        _fail(response, message="The analysis failed because of an internal error.", code="internal_error")
        return RunOutcome(state="failed")

    set_stage(ANALYSIS_JOB, response, Stage.CHECKING)
    result, verification = verify_and_repair(response=response, result=result)
    report = matching.match_report(
        job_text=matching.job_text_of(questionnaire.job_fields()),
        cv_text=questionnaire.resume_text,
        improved_text=result.scoring_text if result.scoring_text is not None else result.improved_cv_markdown,
        request_text=response.prompt,
    )
    done = _finish(
        response,
        status=AIResponse.Status.SUCCEEDED,
        stage=Stage.DONE,
        improved_cv=result.improved_cv_markdown,
        changes=result.changes,
        match_report=report,
        verification=verification,
        model=result.model[:100],
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        error="",
        error_code="",
        finished_at=timezone.now(),
    )
    logger.info("ai response %s id=%s model=%s", "succeeded" if done else "superseded", response.pk, result.model)
    return RunOutcome(state="succeeded" if done else "superseded")


def ai_responses_requeue_stuck() -> dict[str, int]:
    """Queue again the jobs whose worker died, fail those that died too often, re-send lost messages."""
    now = timezone.now()
    max_attempts = settings.OPENAI_MAX_ATTEMPTS
    with transaction.atomic():

        def requeue(response: AIResponse) -> bool:
            if not _finish(response, status=AIResponse.Status.PENDING, stage=Stage.QUEUED, enqueued_at=now):
                return False
            _enqueue_on_commit(response.pk)
            return True

        def give_up(response: AIResponse) -> None:
            _fail(response, message=INTERRUPTED_MESSAGE, code="interrupted")

        swept = jobs.sweep_expired(ANALYSIS_JOB, max_attempts=max_attempts, requeue=requeue, give_up=give_up)
        requeued, failed = swept.requeued, swept.failed
        resent = jobs.resend_lost(
            ANALYSIS_JOB,
            waiting=Q(status=AIResponse.Status.PENDING),
            after=PENDING_REQUEUE_AFTER,
            send=_enqueue_on_commit,
        )
    if requeued or failed or resent:
        logger.info("stuck ai responses: requeued=%s failed=%s resent=%s", requeued, failed, resent)
    return {"requeued": requeued, "failed": failed, "resent": resent}
