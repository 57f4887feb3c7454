"""The truthfulness round of an analysis: an answer is guarded (cv.llm.output_guard: the person's own contact
details and links only, none of the prompt) and checked (cv.scoring.claims for what it invents,
cv.scoring.completeness for what of the person's CV it lost), and a flagged one gets one repair round, the model
asked to remove exactly the claims nothing the person gave supports and to put back exactly the facts it
dropped, then guarded and checked again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from core import jobs
from core.text import clean_text
from cv.jobs import ANALYSIS_JOB, set_stage
from cv.llm import client as llm
from cv.llm import gates, offline
from cv.llm.client import AnalysisResult
from cv.llm.errors import LLMError
from cv.llm.output_guard import OutputGuard, reported
from cv.llm.prompt import cap_cv_text
from cv.models import Stage
from cv.scoring import completeness
from cv.scoring.claims import verify_rewrite
from cv.scoring.job import Job
from cv.scoring.verdict import FLAGGED, VERIFIED, Claim, Verification

if TYPE_CHECKING:
    from cv.models import AIResponse

logger = logging.getLogger(__name__)


def _claim_lines(claims: Iterable[Claim]) -> str:
    return "\n".join(f"- {claim.kind}: {claim.text}" for claim in claims)


def repair_instruction(claims: Iterable[Claim], missing: Iterable[Claim] = ()) -> str:
    """The message that asks the model to take out exactly these claims of its previous answer and to put
    back exactly these facts of the candidate's CV."""
    claims, missing = list(claims), list(missing)
    parts = []
    if claims:
        parts.append(
            "Your improved CV states these claims, which nothing in the candidate's CV or request supports. "
            "Remove exactly these claims (do not replace them with other ones):\n" + _claim_lines(claims)
        )
    if missing:
        parts.append(
            "Your improved CV leaves out these facts of the candidate's CV. Put each of them back, as the CV "
            "states it:\n" + _claim_lines(missing)
        )
    parts.append("Keep everything else, and answer with the complete corrected CV in the same form as before.")
    return "\n\n".join(parts)


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
        model_text=clean_text(result.model_text) if result.model_text is not None else None,
    )


def _repair(
    *, response: AIResponse, result: AnalysisResult, claims: tuple[Claim, ...], missing: tuple[Claim, ...] = ()
) -> AnalysisResult:
    questionnaire = response.questionnaire
    if not result.messages:
        return llm.analyse(
            job=Job.of(questionnaire),
            cv_text=questionnaire.resume_text,
            prompt=repair_request(prompt=response.prompt, claims=claims),
        )
    # The model sees its own answer and is asked to correct it (contact details are replaced on the way out).
    answer = json.dumps({"improved_cv": result.improved_cv_markdown, "changes": result.changes}, ensure_ascii=False)
    messages = [
        *result.messages,
        {"role": "assistant", "content": answer},
        {"role": "user", "content": repair_instruction(claims, missing)},
    ]
    repaired = llm.complete_cv(messages=messages)
    # llm.analyse puts its note about a capped CV first; the repaired answer is still of that capped CV.
    notes = result.changes[:1] if cap_cv_text(questionnaire.resume_text).capped else []
    return replace(
        result,
        improved_cv_markdown=repaired.improved_cv,
        changes=[*notes, *repaired.changes],
        model=repaired.model or result.model,
        prompt_tokens=repaired.prompt_tokens,
        completion_tokens=repaired.completion_tokens,
        finish_reason=repaired.finish_reason,
        messages=tuple(messages),
        # The model wrote the whole of this answer: the check judges all of it.
        model_text=None,
    )


@dataclass(frozen=True)
class _Checked:
    """An answer's verification: the claims it invents (cv.scoring.claims) and the facts it lost
    (cv.scoring.completeness)."""

    claims: Verification
    missing: tuple[Claim, ...]

    @property
    def count(self) -> int:
        return len(self.claims.unsupported) + len(self.missing)

    def as_dict(self, guarded: Iterable[Claim] = ()) -> dict:
        """The verification to store; ``guarded``: what the output guard took out, reported first."""
        unsupported = reported(guarded, self.claims)["unsupported"]
        return {
            "status": FLAGGED if unsupported or self.missing else VERIFIED,
            "unsupported": unsupported,
            "missing": [fact.as_dict() for fact in self.missing],
        }


def _output_guard(response: AIResponse, result: AnalysisResult) -> OutputGuard:
    questionnaire = response.questionnaire
    return OutputGuard.for_person(
        cv_text=questionnaire.resume_text,
        request_text=response.prompt,
        # Everything we sent the model; the CV, the request and the job inside it are data, not our prompt, and
        # so is the model's own earlier answer that a repair round sends back (with the claims it made).
        instructions=[str(m.get("content", "")) for m in result.messages if m.get("role") != "assistant"],
        data=[
            *Job.of(questionnaire).values(),
            *(str(m.get("content", "")) for m in result.messages if m.get("role") == "assistant"),
        ],
    )


def _guarded(guard: OutputGuard, result: AnalysisResult) -> tuple[AnalysisResult, tuple[Claim, ...]]:
    """The answer with only the person's own contact details and links, and none of the prompt."""
    cv = guard.apply(result.improved_cv_markdown)
    changes, found = guard.apply_to_changes(result.changes)
    return replace(result, improved_cv_markdown=cv.text, changes=changes), cv.unsupported + found


def verify_and_repair(
    *, response: AIResponse, result: AnalysisResult, first_answer: list | None = None
) -> tuple[AnalysisResult, dict | None]:
    """Check an answer; a flagged one (claims nothing supports, or facts of the CV it lost) gets one repair
    round and is checked again. Returns the answer to store and its verification. When the repaired answer
    is taken, ``first_answer`` (if given) receives the first answer and its verification (cv.versions.services keeps
    both).

    Contact details, links and prompt text the guard took out are reported with the claims (kinds ``contact``
    and ``instructions``); they need no repair, being gone already. The offline analyser only re-lays the
    person's own lines, so it is verified by construction (and guarded all the same). A repair call that
    fails, an answer that fails a gate (cv.llm.gates) or that is flagged for more than the first leaves the first
    answer and its flags.
    """
    guard = _output_guard(response, result)
    result, guarded = _guarded(guard, result)
    if result.model == offline.MODEL_NAME:
        return result, {**Verification(unsupported=guarded).as_dict(), "missing": []}
    questionnaire = response.questionnaire
    job_text = Job.of(questionnaire).text
    sent_cv = cap_cv_text(questionnaire.resume_text).text

    def check(answer: AnalysisResult) -> _Checked:
        claims = verify_rewrite(
            source_text=questionnaire.resume_text,
            request_text=response.prompt,
            improved_text=answer.model_text if answer.model_text is not None else answer.improved_cv_markdown,
            job_text=job_text,
        )
        missing = completeness.missing_facts(
            # What the model was sent: the later part of a capped CV is said to be left out (llm.analyse).
            source_text=sent_cv,
            improved_text=answer.improved_cv_markdown,
            request_text=response.prompt,
        )
        return _Checked(claims=claims, missing=missing)

    try:
        first = check(result)
    except Exception:
        # A fault in the check must not cost the person their analysis: the answer is stored unchecked.
        logger.exception("truthfulness check crashed for ai response id=%s", response.pk)
        return result, None
    if not first.count:
        return result, first.as_dict(guarded)
    if result.model_text is not None:
        # Written part by part (cv.llm.piecewise): each part was checked and asked again once, and a part still
        # flagged went back to the person's text. A repair round asks for the whole CV, which the small models
        # this mode is for cannot write without losing facts: the answer is reported as it is.
        return result, first.as_dict(guarded)
    logger.info(
        "ai response flagged id=%s claims=%s missing=%s: asking for a repair",
        response.pk,
        len(first.claims.unsupported),
        len(first.missing),
    )
    _extend_lease(response)
    try:
        repaired = answer_cleaned(
            _repair(response=response, result=result, claims=first.claims.unsupported, missing=first.missing)
        )
    except LLMError as exc:
        logger.warning("ai response repair failed id=%s code=%s; keeping the flagged answer", response.pk, exc.code)
        return result, first.as_dict(guarded)
    context = gates.Context(kind=gates.CV, source_text=sent_cv, request_text=response.prompt, job_text=job_text)
    gate = gates.first_failure(repaired.improved_cv_markdown, context)
    if gate is not None:
        logger.info(
            "ai response repair failed gate id=%s gate=%s; keeping the first answer", response.pk, gate.error_code
        )
        return result, first.as_dict(guarded)
    try:
        repaired, guarded_again = _guarded(_output_guard(response, repaired), repaired)
        second = check(repaired)
    except Exception:
        logger.exception("truthfulness check crashed for ai response id=%s", response.pk)
        return result, first.as_dict(guarded)
    if second.count > first.count:
        return result, first.as_dict(guarded)
    logger.info("ai response repaired id=%s remaining=%s", response.pk, second.count)
    if first_answer is not None:
        first_answer.append((result, first.as_dict(guarded)))
    # Both calls are what the analysis cost.
    stored = replace(
        repaired,
        prompt_tokens=_add(result.prompt_tokens, repaired.prompt_tokens),
        completion_tokens=_add(result.completion_tokens, repaired.completion_tokens),
    )
    # What the first answer tried stays reported: the job text that asked for it is still there.
    return stored, second.as_dict((*guarded, *guarded_again))


def _add(first: int | None, second: int | None) -> int | None:
    return None if first is None and second is None else (first or 0) + (second or 0)


def _extend_lease(response: AIResponse) -> None:
    # The repair is a second model call: the run keeps its job for another lease, or the sweep would hand it
    # to another worker while this one is still working.
    jobs.renew(ANALYSIS_JOB, response)
    set_stage(ANALYSIS_JOB, response, Stage.REPAIRING)
