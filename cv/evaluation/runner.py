"""Run labelled pairs through the analysis exactly as the worker does, and add up what came out.

Each pair gets a throwaway person, questionnaire and analysis row inside one transaction that is rolled
back afterwards: nothing is left behind, no quota is taken and nothing is sent to the broker (the service's
on-commit sends never fire).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import User
from cv import services
from cv.evaluation.dataset import Pair
from cv.evaluation.judge import judge
from cv.llm import client as llm
from cv.llm import offline
from cv.models import AIResponse, CVQuestionnaire

USABLE, INCOMPLETE, JUNK, FAILED = "usable", "incomplete", "junk", "failed"
# The offline analyser's answer: the CV re-laid as it is with a review after it, never a rewrite.
REVIEW = "review"


@dataclass(frozen=True)
class Row:
    pair: str
    split: str
    field: str
    status: str  # the service's: succeeded or failed
    error_code: str
    result: str  # the evaluation's own: usable, incomplete, junk or failed
    why: str
    verification: str  # verified, flagged N, unchecked, or "-" when nothing was stored
    flagged_claims: int
    kept: int | None
    total: int
    seconds: float
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str
    missing: list[str] = dataclass_field(default_factory=list)
    answer: str = ""  # the improved CV as stored, for reading the JSON output (never printed in the table)

    @property
    def good(self) -> bool:
        """A usable, complete rewrite that is verified: what the person came for."""
        return self.result == USABLE and self.verification == "verified"

    @property
    def junk_stored(self) -> bool:
        """Stored as a success although a person would call it junk."""
        return self.status == AIResponse.Status.SUCCEEDED and self.result == JUNK


def _verification_label(verification: dict[str, Any] | None) -> tuple[str, int]:
    if verification is None:
        return "unchecked", 0
    if verification.get("status") == "verified":
        return "verified", 0
    claims = len(verification.get("unsupported") or [])
    missing = len(verification.get("missing") or [])
    return f"flagged {claims}" + (f" +{missing} missing" if missing else ""), claims + missing


def _analyse(pair: Pair, *, sleep: Callable[[float], None]) -> AIResponse:
    """One analysis of the pair through the worker's entry point, retries included, in the caller's
    transaction. Returns the finished row."""
    user = User.objects.create_user(username=f"evaluation-{uuid.uuid4().hex[:16]}", password=None)
    questionnaire = CVQuestionnaire.objects.create(
        user=user,
        position=pair.position,
        industry=pair.industry,
        job_description=pair.job_text,
        resume_text=pair.cv_text,
    )
    response = AIResponse.objects.create(
        questionnaire=questionnaire, user=user, prompt=pair.request, enqueued_at=timezone.now()
    )
    outcome = services.ai_response_run(response_id=response.pk)
    # As the worker's task does: a transient failure comes back after the service's back-off, until the
    # service gives up after OPENAI_MAX_ATTEMPTS.
    while outcome.state == "retry" and outcome.retry_in is not None:
        sleep(outcome.retry_in)
        outcome = services.ai_response_run(response_id=response.pk)
    response.refresh_from_db()
    return response


def evaluate_pair(pair: Pair, *, sleep: Callable[[float], None] = time.sleep) -> Row:
    started = time.monotonic()
    try:
        with transaction.atomic():
            response = _analyse(pair, sleep=sleep)
            transaction.set_rollback(True)
    except Exception as exc:  # one broken pair must not end the evaluation of the others
        return Row(
            pair=pair.name,
            split=pair.split,
            field=pair.field,
            status="crashed",
            error_code=type(exc).__name__,
            result=FAILED,
            why=f"the evaluation crashed: {type(exc).__name__}: {exc}"[:300],
            verification="-",
            flagged_claims=0,
            kept=None,
            total=len(pair.facts),
            seconds=round(time.monotonic() - started, 1),
            prompt_tokens=None,
            completion_tokens=None,
            model="",
        )
    seconds = round(time.monotonic() - started, 1)
    common: dict[str, Any] = {
        "pair": pair.name,
        "split": pair.split,
        "field": pair.field,
        "status": response.status,
        "error_code": response.error_code,
        "total": len(pair.facts),
        "seconds": seconds,
        "prompt_tokens": response.prompt_tokens,
        "completion_tokens": response.completion_tokens,
        "model": response.model,
    }
    if response.status != AIResponse.Status.SUCCEEDED:
        why = f"{response.error_code or response.status}: {response.error}".strip(": ")
        return Row(**common, result=FAILED, why=why[:300], verification="-", flagged_claims=0, kept=None)
    rewrite = response.model != offline.MODEL_NAME
    judgement = judge(pair, response.improved_cv, rewrite=rewrite)
    missing = [f"{fact.kind} {fact.text!r}" for fact in judgement.missing]
    if judgement.junk:
        result, why = JUNK, ", ".join(judgement.junk)
    elif not judgement.complete:
        result, why = INCOMPLETE, "missing " + "; ".join(missing)
    elif not rewrite:
        result, why = REVIEW, "offline analyser: the CV re-laid with a review, no rewrite"
    else:
        result, why = USABLE, ""
    label, claims = _verification_label(response.verification)
    return Row(
        **common,
        result=result,
        why=why[:300],
        verification=label,
        flagged_claims=claims,
        kept=judgement.kept,
        missing=missing,
        answer=response.improved_cv,
    )


def totals(rows: Iterable[Row]) -> dict[str, Any]:
    rows = list(rows)
    timed = [row.seconds for row in rows]
    return {
        "pairs": len(rows),
        "succeeded": sum(row.status == AIResponse.Status.SUCCEEDED for row in rows),
        "usable": sum(row.result == USABLE for row in rows),
        "reviews": sum(row.result == REVIEW for row in rows),
        "good": sum(row.good for row in rows),
        "incomplete": sum(row.result == INCOMPLETE for row in rows),
        "junk_stored": sum(row.junk_stored for row in rows),
        "failed": sum(row.result == FAILED for row in rows),
        "facts_kept": sum(row.kept or 0 for row in rows if row.kept is not None),
        "facts_total": sum(row.total for row in rows if row.kept is not None),
        "seconds": round(sum(timed), 1),
        "mean_seconds": round(sum(timed) / len(timed), 1) if timed else 0.0,
        "prompt_tokens": sum(row.prompt_tokens or 0 for row in rows),
        "completion_tokens": sum(row.completion_tokens or 0 for row in rows),
    }


def grouped_totals(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """Tuning and held-out pairs apart (a figure on the tuning pairs is memory), then all of them."""
    return {
        "tuning": totals(row for row in rows if row.split == "tuning"),
        "held_out": totals(row for row in rows if row.split == "held_out"),
        "all": totals(rows),
    }


def describe_model() -> str:
    """Which analyser runs, without any secret."""
    if not llm.is_configured():
        return "offline analyser (no OPENAI_API_KEY)"
    server = settings.OPENAI_BASE_URL or "api.openai.com"
    return f"{settings.OPENAI_MODEL} at {server}, timeout {settings.OPENAI_TIMEOUT:g} s"


def row_dict(row: Row) -> dict[str, Any]:
    return {**asdict(row), "good": row.good, "junk_stored": row.junk_stored}
