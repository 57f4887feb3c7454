"""The truthfulness round of an analysis: an answer is guarded (cv.output_guard: the person's own contact
details and links only, none of the prompt) and checked (cv.claims), and a flagged one gets one repair round,
the model asked to remove exactly the claims nothing the person gave supports, then guarded and checked again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from core.text import clean_text
from cv import llm, matching, offline
from cv.claims import VERIFIED, Claim, Verification, verify_rewrite
from cv.llm import AnalysisResult
from cv.output_guard import OutputGuard, reported

if TYPE_CHECKING:
    from cv.models import AIResponse

logger = logging.getLogger(__name__)


def _claim_lines(claims: Iterable[Claim]) -> str:
    return "\n".join(f"- {claim.kind}: {claim.text}" for claim in claims)


def repair_instruction(claims: Iterable[Claim]) -> str:
    """The message that asks the model to take out exactly these claims of its previous answer."""
    return (
        "Your improved CV states these claims, which nothing in the candidate's CV or request supports. Remove "
        "exactly these claims (do not replace them with other ones), keep everything else, and answer with the "
        "complete corrected CV in the same JSON shape:\n" + _claim_lines(claims)
    )


def repair_request(*, prompt: str, claims: Iterable[Claim]) -> str:
    """The person's request plus the claims to leave out, for an analyser that keeps no conversation."""
    return (
        f"{(prompt or '').strip()}\n\nA previous version of the improved CV stated things my CV does not say. "
        "Write it without exactly these claims (do not replace them with other ones):\n" + _claim_lines(claims)
    ).strip()


def answer_cleaned(result: AnalysisResult) -> AnalysisResult:
    """A model's answer as it may be stored: without the characters (NUL and other controls, lone surrogates)
    that PostgreSQL or a Word export refuses (core.text). Applied where each answer comes in."""
    scoring = result.scoring_text
    return replace(
        result,
        improved_cv_markdown=clean_text(result.improved_cv_markdown),
        changes=[clean_text(change) for change in result.changes],
        model=clean_text(result.model),
        scoring_text=clean_text(scoring) if scoring is not None else None,
    )


def _repair(*, response: AIResponse, result: AnalysisResult, claims: tuple[Claim, ...]) -> AnalysisResult:
    questionnaire = response.questionnaire
    if not result.messages:
        return llm.analyse(
            questionnaire_fields=questionnaire.job_fields(),
            cv_text=questionnaire.resume_text,
            prompt=repair_request(prompt=response.prompt, claims=claims),
        )
    # The model sees its own answer and is asked to correct it (contact details are replaced on the way out).
    answer = json.dumps({"improved_cv": result.improved_cv_markdown, "changes": result.changes}, ensure_ascii=False)
    messages = [
        *result.messages,
        {"role": "assistant", "content": answer},
        {"role": "user", "content": repair_instruction(claims)},
    ]
    repaired = llm.complete_cv(messages=messages)
    # llm.analyse puts its note about a capped CV first; the repaired answer is still of that capped CV.
    notes = result.changes[:1] if llm.cap_cv_text(questionnaire.resume_text).capped else []
    return replace(
        result,
        improved_cv_markdown=repaired.improved_cv,
        changes=[*notes, *repaired.changes],
        model=repaired.model or result.model,
        prompt_tokens=repaired.prompt_tokens,
        completion_tokens=repaired.completion_tokens,
        finish_reason=repaired.finish_reason,
        messages=tuple(messages),
    )


def _output_guard(response: AIResponse, result: AnalysisResult) -> OutputGuard:
    questionnaire = response.questionnaire
    return OutputGuard.for_person(
        cv_text=questionnaire.resume_text,
        request_text=response.prompt,
        # Everything we sent the model; the CV, the request and the job inside it are data, not our prompt, and
        # so is the model's own earlier answer that a repair round sends back (with the claims it made).
        instructions=[str(m.get("content", "")) for m in result.messages if m.get("role") != "assistant"],
        data=[
            *(str(value) for value in questionnaire.job_fields().values() if value),
            *(str(m.get("content", "")) for m in result.messages if m.get("role") == "assistant"),
        ],
    )


def _guarded(guard: OutputGuard, result: AnalysisResult) -> tuple[AnalysisResult, tuple[Claim, ...]]:
    """The answer with only the person's own contact details and links, and none of the prompt."""
    cv = guard.apply(result.improved_cv_markdown)
    changes, found = guard.apply_to_changes(result.changes)
    return replace(result, improved_cv_markdown=cv.text, changes=changes), cv.unsupported + found


def verify_and_repair(*, response: AIResponse, result: AnalysisResult) -> tuple[AnalysisResult, dict | None]:
    """Guard and check an answer; a flagged one gets one repair round (the model asked to remove exactly those
    claims) and is guarded and checked again. Returns the answer to store and its verification.

    Contact details, links and prompt text the guard took out are reported with the claims (kinds ``contact``
    and ``instructions``); they need no repair, being gone already. The offline analyser only re-lays the
    person's own lines, so it is verified by construction (and guarded all the same). A repair call that
    fails, or an answer that claims more than the first, leaves the first answer and its flags.
    """
    guard = _output_guard(response, result)
    result, guarded = _guarded(guard, result)
    if result.model == offline.MODEL_NAME:
        return result, Verification(unsupported=guarded).as_dict()
    questionnaire = response.questionnaire
    fields = questionnaire.job_fields()
    job_text = matching.job_text_of(fields)

    def check(answer: AnalysisResult) -> Verification:
        return verify_rewrite(
            source_text=questionnaire.resume_text,
            request_text=response.prompt,
            improved_text=answer.improved_cv_markdown,
            job_text=job_text,
        )

    try:
        first = check(result)
    except Exception:
        # A fault in the check must not cost the person their analysis: the answer is stored unchecked.
        logger.exception("truthfulness check crashed for ai response id=%s", response.pk)
        return result, None
    if first.status == VERIFIED:
        return result, reported(guarded, first)
    logger.info("ai response flagged id=%s claims=%s: asking for a repair", response.pk, len(first.unsupported))
    _extend_lease(response)
    try:
        repaired = answer_cleaned(_repair(response=response, result=result, claims=first.unsupported))
    except llm.LLMError as exc:
        logger.warning("ai response repair failed id=%s code=%s; keeping the flagged answer", response.pk, exc.code)
        return result, reported(guarded, first)
    repaired, guarded_again = _guarded(_output_guard(response, repaired), repaired)
    try:
        second = check(repaired)
    except Exception:
        logger.exception("truthfulness check crashed for ai response id=%s", response.pk)
        return result, reported(guarded, first)
    if len(second.unsupported) > len(first.unsupported):
        return result, reported(guarded, first)
    logger.info("ai response repaired id=%s remaining=%s", response.pk, len(second.unsupported))
    # Both calls are what the analysis cost.
    stored = replace(
        repaired,
        prompt_tokens=_add(result.prompt_tokens, repaired.prompt_tokens),
        completion_tokens=_add(result.completion_tokens, repaired.completion_tokens),
    )
    # What the first answer tried stays reported: the job text that asked for it is still there.
    return stored, reported((*guarded, *guarded_again), second)


def _add(first: int | None, second: int | None) -> int | None:
    return None if first is None and second is None else (first or 0) + (second or 0)


def _extend_lease(response: AIResponse) -> None:
    # The repair is a second model call: the run keeps its job for another lease, or the sweep would hand it
    # to another worker while this one is still working.

    from core import jobs
    from cv.jobs import ANALYSIS_JOB

    jobs.renew(ANALYSIS_JOB, response)
