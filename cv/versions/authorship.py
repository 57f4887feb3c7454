"""Who wrote what in a version, and the checks of a person's edit (see cv.versions.services): the lines the person
wrote keep their author from version to version, each flagged claim says where it came from, and an edit is
scored and checked as a model's answer is, with the person's lines as support.
"""

from __future__ import annotations

from typing import Any

from cv.llm import offline
from cv.llm.output_guard import OutputGuard
from cv.llm.prompt import cap_cv_text
from cv.models import AIResponse, AIResponseVersion
from cv.scoring import completeness, matching
from cv.scoring.claims import verify_rewrite
from cv.scoring.job import Job
from cv.scoring.verdict import FLAGGED, VERIFIED

MAX_VERSIONS = 100

Source = AIResponseVersion.Source


def line_key(line: str) -> str:
    """A line as compared between versions: its words, whatever the spacing around them."""
    return " ".join(line.split())


def _keys(text: str) -> list[str]:
    return [key for key in map(line_key, text.splitlines()) if key]


def stats_of(*, improved_cv: str, match_report: dict | None, verification: dict | None) -> dict:
    verification = verification or {}
    return {
        "characters": len(improved_cv),
        "lines": len(_keys(improved_cv)),
        "score_after": (match_report or {}).get("score_after"),
        "verification": verification.get("status"),
        "unsupported": len(verification.get("unsupported") or []),
        "missing": len(verification.get("missing") or []),
    }


def _claim_key(claim: dict) -> tuple[str, str]:
    return str(claim.get("kind")), str(claim.get("text", "")).casefold()


def annotated(verification: dict | None, *, source: str, number: int, earlier: dict | None = None) -> dict | None:
    """``verification`` with each flagged claim saying where it came from, when it does not say so yet: from
    ``earlier`` (the verification of the version before) when that flagged it already, else from this one."""
    if not verification:
        return verification
    known = {_claim_key(claim): claim for claim in (earlier or {}).get("unsupported") or []}
    claims = []
    for claim in verification.get("unsupported") or []:
        origin = known.get(_claim_key(claim), {})
        claims.append(
            {
                **claim,
                "source": claim.get("source", origin.get("source", source)),
                "introduced_in": claim.get("introduced_in", origin.get("introduced_in", number)),
            }
        )
    return {**verification, "unsupported": claims}


def _authored(text: str, *, base: AIResponseVersion) -> list[str]:
    """The lines of ``text`` the person wrote: those the base version does not have as they were, and those
    of the base that the person had written."""
    base_keys = set(_keys(base.improved_cv))
    base_person = set(base.person_lines or [])
    lines: list[str] = []
    seen: set[str] = set()
    for key in _keys(text):
        if key in seen:
            continue
        seen.add(key)
        if key in base_person or key not in base_keys:
            lines.append(key)
    return lines


def _origin(claim: dict, *, base: AIResponseVersion) -> tuple[str, int]:
    """Where a flagged claim of an edit of ``base`` came from: as the base said, or else the nearest version
    before it that the model wrote."""
    key = _claim_key(claim)
    for known in (base.verification or {}).get("unsupported") or []:
        if _claim_key(known) == key and known.get("introduced_in"):
            return known.get("source", Source.MODEL), known["introduced_in"]
    ancestor: AIResponseVersion | None = base
    for _ in range(MAX_VERSIONS):
        if ancestor is None or ancestor.source in (Source.MODEL, Source.REPAIR):
            break
        ancestor = (
            AIResponseVersion.objects.filter(response_id=base.response_id, number=ancestor.based_on)
            .only("number", "source", "based_on")
            .first()
            if ancestor.based_on
            else None
        )
    if ancestor is None:
        return Source.MODEL, 1
    return ancestor.source, ancestor.number


def check_edit(*, response: AIResponse, text: str, base: AIResponseVersion) -> tuple[str, list[str], Any, dict]:
    """The checks of a person's edit of ``base``: (the text as stored, the person's lines, the match report,
    the verification). Deterministic and linear in the text (cv.scoring.claims, cv.scoring.completeness,
    cv.scoring.matching)."""
    questionnaire = response.questionnaire
    job_text = Job.of(questionnaire).text
    person = _authored(text, base=base)
    own_text = "\n".join(filter(None, [response.prompt, *person]))
    # The addresses in the person's own lines are theirs; the model's lines were guarded when it wrote them.
    guard = OutputGuard.for_person(cv_text=questionnaire.resume_text, request_text=own_text)
    guarded = guard.apply(text)
    text = guarded.text
    person = _authored(text, base=base)
    own_text = "\n".join(filter(None, [response.prompt, *person]))
    cv_text = offline.cv_part(model=response.model, improved_cv=text)
    claims = verify_rewrite(
        source_text=questionnaire.resume_text, request_text=own_text, improved_text=cv_text, job_text=job_text
    )
    # Only what the model had lost and the edit did not put back: what the person dropped is their choice.
    model_lost = {(fact.get("kind"), fact.get("text")) for fact in (base.verification or {}).get("missing") or []}
    missing = []
    if model_lost:
        lost_now = completeness.missing_facts(
            source_text=cap_cv_text(questionnaire.resume_text).text, improved_text=cv_text, request_text=own_text
        )
        missing = [fact.as_dict() for fact in lost_now if (fact.kind, fact.text) in model_lost]
    unsupported: list[dict[str, Any]] = []
    for claim in (*guarded.unsupported, *claims.unsupported):
        entry: dict[str, Any] = claim.as_dict()
        if claim.kind in ("contact", "instructions"):
            # What the guard took out of this edit: of this version's own making.
            entry["source"], entry["introduced_in"] = Source.PERSON.value, base.number + 1
        else:
            entry["source"], entry["introduced_in"] = _origin(entry, base=base)
        unsupported.append(entry)
    verification: dict[str, Any] = {
        "status": FLAGGED if unsupported or missing else VERIFIED,
        "unsupported": unsupported,
        "missing": missing,
    }
    report = matching.match_report(
        job_text=job_text, cv_text=questionnaire.resume_text, improved_text=cv_text, request_text=own_text
    )
    return text, person, report, verification
