"""Writes and business rules of the CV app: AI analyses and their jobs (questionnaires and CV uploads:
cv.intake.questionnaires, re-exported here)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import jobs
from core.exceptions import NotFound
from core.models import User
from core.quotas import quota_consume
from cv.intake.questionnaires import ExtractedResume as ExtractedResume
from cv.intake.questionnaires import UploadInProgress as UploadInProgress
from cv.intake.questionnaires import questionnaire_create as questionnaire_create
from cv.intake.questionnaires import questionnaire_delete as questionnaire_delete
from cv.intake.questionnaires import questionnaire_update as questionnaire_update
from cv.intake.questionnaires import resume_validate as resume_validate
from cv.jobs import ANALYSIS_JOB, llm_job, set_stage, withdraw
from cv.jobs import retry_delay as retry_delay
from cv.llm import client as llm
from cv.llm import gates, offline, piecewise, requirements
from cv.llm.errors import LLMPermanentError
from cv.llm.prompt import cap_cv_text
from cv.llm.verification import answer_cleaned, verify_and_repair
from cv.models import AIResponse, CVQuestionnaire, Stage
from cv.scoring import matching
from cv.scoring.job import Job
from cv.versions import services as versions

logger = logging.getLogger(__name__)


def ai_response_create(*, user: User, questionnaire: CVQuestionnaire, prompt: str) -> AIResponse:
    """Queue an analysis of the questionnaire's CV (one unit of the daily AI quota, given back on failure).

    If the broker cannot take the job, the row is deleted and the unit given back, and the caller gets
    RedisUnavailable (503): nothing is left half-done (core.jobs.start).
    """

    def create(undo: jobs.Undo) -> AIResponse:
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
        undo.append(lambda: withdraw(ANALYSIS, response))
        jobs.enqueue(ANALYSIS, response.pk)
        return response

    response = jobs.start(create)
    logger.info("ai response queued id=%s user_id=%s", response.pk, user.pk)
    return response


@transaction.atomic
def ai_response_run_again(*, response: AIResponse) -> AIResponse:
    """Start a finished or stuck analysis over (an admin action; it costs the person no quota)."""
    AIResponse.objects.filter(pk=response.pk).update(
        status=AIResponse.Status.PENDING,
        stage=Stage.QUEUED,
        progress=None,
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
    jobs.enqueue(ANALYSIS, response.pk, robust=True)
    response.refresh_from_db()
    return response


def analyse(
    *,
    questionnaire: CVQuestionnaire,
    job: Job,
    prompt: str,
    renew: Callable[[], object] = lambda: None,
) -> llm.AnalysisResult:
    """The configured LLM (the whole CV in one answer, or part by part: OPENAI_REWRITE), or the offline
    analyser when there is no API key; the answer cleaned of what the database cannot store (a model may
    write NUL). ``job.requirements``: the model's reading of the job, whose requirements the CV shows without
    naming them the whole-CV rewrite is told it may name. ``renew`` keeps the job's lease while a part-by-part
    rewrite makes its calls."""
    cv_text = questionnaire.resume_text
    if not llm.is_configured():
        result = offline.analyse(job=job, cv_text=cv_text, prompt=prompt)
    elif settings.OPENAI_REWRITE == "sections":
        result = piecewise.analyse(job=job, cv_text=cv_text, prompt=prompt, renew=renew)
    else:
        surface = [(item.term, item.cv_evidence or "") for item in requirements.to_surface(job.requirements, cv_text)]
        result = llm.analyse(job=job, cv_text=cv_text, prompt=prompt, surface=surface)
    return answer_cleaned(result)


def _gate_context(response: AIResponse, job: Job) -> gates.Context:
    questionnaire = response.questionnaire
    return gates.Context(
        kind=gates.CV,
        # What the model was sent of the CV: a capped CV's later part is not expected in the answer.
        source_text=cap_cv_text(questionnaire.resume_text).text,
        request_text=response.prompt,
        job_text=job.text,
    )


def _pass_gates(*, response: AIResponse, job: Job, result: llm.AnalysisResult) -> llm.AnalysisResult:
    """The model's answer if it passes every gate (cv.llm.gates), else its answer to one corrective retry that
    names what was wrong; an answer that still fails is an LLMPermanentError with that gate's code (the
    unit goes back: the model failed, not the person)."""
    if result.model == offline.MODEL_NAME or not result.messages:
        return result
    set_stage(ANALYSIS_JOB, response, Stage.CHECKING)
    context = _gate_context(response, job)
    gate = gates.first_failure(result.improved_cv_markdown, context)
    if gate is None:
        return result
    if result.model_text is not None:
        # Written part by part for a small model, each part already asked again once: asking that model for
        # the whole CV instead is what part by part avoids (it loses the person's facts).
        raise LLMPermanentError(gates.person_message(gate), code=gate.error_code)
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
        raise LLMPermanentError(gates.person_message(still), code=still.error_code)
    # llm.analyse puts its note about a capped CV first; the corrected answer is still of that capped CV.
    notes = result.changes[:1] if cap_cv_text(response.questionnaire.resume_text).capped else []
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


def _analysis_work(response: AIResponse) -> dict:
    """One attempt's work: the answer, its gates, the truthfulness check and the match report."""
    questionnaire = response.questionnaire
    # Stage READING_JOB since the claim. Never raises: without a usable reading the extractor alone serves.
    read = requirements.for_questionnaire(questionnaire, renew=lambda: jobs.renew(ANALYSIS_JOB, response))
    job = Job.of(questionnaire, requirements=read)
    set_stage(ANALYSIS_JOB, response, Stage.WRITING)
    result = analyse(
        questionnaire=questionnaire,
        job=job,
        prompt=response.prompt,
        renew=lambda: jobs.renew(ANALYSIS_JOB, response),
    )
    result = _pass_gates(response=response, job=job, result=result)
    set_stage(ANALYSIS_JOB, response, Stage.CHECKING)
    first_answer: list = []
    result, verification = verify_and_repair(response=response, result=result, first_answer=first_answer)
    report = matching.match_report(
        job_text=job.text,
        cv_text=questionnaire.resume_text,
        improved_text=result.scoring_text if result.scoring_text is not None else result.improved_cv_markdown,
        request_text=response.prompt,
        read=job.requirements,
    )
    # Kept for _record_versions, which runs once the runner has stored the answer: the first answer's match
    # report is built here, outside the transaction that stores it.
    _FIRST_ANSWERS[response] = versions.first_answer_of(response, first_answer)
    logger.info("ai response answered id=%s model=%s", response.pk, result.model)
    return {
        "improved_cv": result.improved_cv_markdown,
        "changes": result.changes,
        "match_report": report,
        "verification": verification,
        "model": result.model[:100],
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
    }


# The first answer of each run whose work is done and whose answer is being stored (weak: a run that ended
# otherwise leaves nothing behind).
_FIRST_ANSWERS: weakref.WeakKeyDictionary[AIResponse, Any] = weakref.WeakKeyDictionary()


def _record_versions(response: AIResponse, fields: dict, done: bool) -> None:
    """Record the stored answer as the response's next version (cv.versions.services), the first answer before it
    when a repair round changed it; in the runner's transaction that stored the answer."""
    first = _FIRST_ANSWERS.pop(response, None)
    if done:
        versions.record_answer(
            response,
            improved_cv=fields["improved_cv"],
            match_report=fields["match_report"],
            verification=fields["verification"],
            first=first,
        )


ANALYSIS = llm_job(
    ANALYSIS_JOB,
    name="ai response",
    task="cv.tasks.run_analysis",
    work=_analysis_work,
    fetch=lambda: AIResponse.objects.select_related("questionnaire"),
    crashed="The analysis failed because of an internal error.",
    interrupted="The analysis was interrupted too many times; please try again.",
    stored=_record_versions,
)


def ai_response_run(*, response_id: int) -> jobs.Outcome:
    """Run one attempt of an analysis job (core.jobs.run). Safe to call twice: only one caller can hold it."""
    return jobs.run(ANALYSIS, response_id)


def ai_responses_requeue_stuck() -> dict[str, int]:
    """Queue again the jobs whose worker died, fail those that died too often, re-send lost messages."""
    return jobs.sweep(ANALYSIS).counts()
