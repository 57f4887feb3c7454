"""Versions of an AI response's improved CV: the person stays the author.

Version 1 is the model's answer (a later ``model`` version is the answer of an analysis run again); a
``repair`` version is what the repair round changed; a ``person`` version is the person's edit
(``version_edit``); a ``restore`` version makes an earlier one the latest again (``version_restore``).
Nothing is overwritten, and at most ``MAX_VERSIONS`` are kept per response. The response's own
``improved_cv``, ``match_report`` and ``verification`` are those of its latest version, written in the same
transaction as the version, so every reader of a response (exports, diff, PDFs, letters) reads the latest
without a join; ``version`` says which one.

Who wrote what. Each version records the lines the person wrote (``person_lines``): a line of an edit that
its base version has, as it was, keeps its author; any other line (new, or changed in any way) is the
person's. The person's lines are support for the truthfulness check, as the person's request is: a claim
first written in a ``person`` version is theirs and never flagged, and a claim the model introduced stays
flagged until the person removes it or edits its line. Each flagged claim says where it came from
(``source``) and the version it was introduced in (``introduced_in``).

Contact details: the output guard (cv.llm.output_guard) exists to stop the model inventing contact details and
links. A person editing their own CV may change their own phone, email or links: the addresses in the lines
they wrote are theirs, and the guard keeps only checking what the model wrote (a link's text and its target
still have to agree). What the person dropped of their uploaded CV is their choice: only facts the model had
already lost stay reported as ``missing``.

Every check here is deterministic and runs in the request: on the largest accepted CV it takes well under a
second (see test_versions.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from core.exceptions import Conflict, DomainError, NotFound
from core.models import User
from core.text import clean_text
from cv.intake import limits
from cv.llm import offline
from cv.models import AIResponse, AIResponseVersion
from cv.scoring import matching
from cv.scoring.job import Job
from cv.versions.authorship import MAX_VERSIONS, Source, annotated, check_edit, stats_of

logger = logging.getLogger(__name__)

# The fields of a version that a list leaves out (a list shows each version's stats).
HEAVY_FIELDS = ("improved_cv", "match_report", "verification", "person_lines")


class AIResponseNotReady(Conflict):
    default_code = "ai_response_not_ready"
    default_detail = "This AI response has not finished successfully, so there is no improved CV to edit yet."


class VersionConflict(DomainError):
    """The edit was made on a version that is no longer the latest (another tab saved first)."""

    status_code: int = 409
    default_code = "version_conflict"


class VersionPreconditionFailed(VersionConflict):
    """As VersionConflict, when the stale version came from an If-Match header (HTTP's 412)."""

    status_code = 412
    default_code = "precondition_failed"


class TooManyVersions(DomainError):
    default_code = "too_many_versions"


class EmptyEdit(DomainError):
    default_code = "empty_edit"
    default_detail = "The improved CV cannot be empty."


def _next_number(response: AIResponse) -> int:
    latest = response.versions.aggregate(latest=Max("number"))["latest"]
    return (latest or 0) + 1


def _check_cap(number: int) -> None:
    if number > MAX_VERSIONS:
        raise TooManyVersions(
            f"This AI response has {MAX_VERSIONS} versions, the most it can keep. Start a new analysis of the "
            "questionnaire to keep editing.",
            limit=MAX_VERSIONS,
        )


def _write(
    response: AIResponse,
    *,
    number: int,
    source: str,
    improved_cv: str,
    match_report: Any,
    verification: dict | None,
    person_lines: Iterable[str] = (),
    based_on: int | None = None,
    user: User | None = None,
) -> AIResponseVersion:
    """Store a version and make it the response's latest (inside the caller's transaction)."""
    version = AIResponseVersion.objects.create(
        response=response,
        number=number,
        source=source,
        based_on=based_on,
        improved_cv=improved_cv,
        match_report=match_report,
        verification=verification,
        person_lines=list(person_lines),
        stats=stats_of(improved_cv=improved_cv, match_report=match_report, verification=verification),
        created_by=user,
    )
    AIResponse.objects.filter(pk=response.pk).update(
        improved_cv=improved_cv, match_report=match_report, verification=verification, version=number
    )
    response.improved_cv, response.match_report, response.verification = improved_cv, match_report, verification
    response.version = number
    return version


def first_answer_of(response: AIResponse, first: list) -> tuple[str, Any, dict | None] | None:
    """The model's first answer that a repair round replaced (as cv.llm.verification hands it over: the answer
    and its verification), with its own match report; None when there was no such round."""
    if not first:
        return None
    result, verification = first[0]
    questionnaire = response.questionnaire
    report = matching.match_report(
        job_text=Job.of(questionnaire).text,
        cv_text=questionnaire.resume_text,
        improved_text=result.scoring_text if result.scoring_text is not None else result.improved_cv_markdown,
        request_text=response.prompt,
    )
    return result.improved_cv_markdown, report, verification


def record_answer(
    response: AIResponse,
    *,
    improved_cv: str,
    match_report: Any,
    verification: dict | None,
    first: tuple[str, Any, dict | None] | None = None,
) -> None:
    """Record what an analysis stored as the response's next version(s), in the caller's transaction.

    ``first``: the model's first answer (improved CV, match report, verification) when a repair round changed
    it; it is stored as the ``model`` version and the repaired answer as the ``repair`` version after it.
    Past the cap nothing is recorded (the response's fields still hold the answer)."""
    AIResponse.objects.select_for_update().filter(pk=response.pk).first()
    number = _next_number(response)
    answers: list[tuple[str, str, Any, dict | None]] = []
    if first is not None and first[0] != improved_cv:
        answers.append((Source.MODEL, *first))
        answers.append((Source.REPAIR, improved_cv, match_report, verification))
    else:
        answers.append((Source.MODEL, improved_cv, match_report, verification))
    earlier: dict | None = None
    for offset, (source, text, report, checked) in enumerate(answers):
        if number + offset > MAX_VERSIONS:
            logger.warning("ai response id=%s has %s versions: answer not recorded", response.pk, MAX_VERSIONS)
            return
        # A claim the repair round kept is still the model's first answer's.
        earlier = annotated(checked, source=source, number=number + offset, earlier=earlier)
        _write(
            response,
            number=number + offset,
            source=source,
            improved_cv=text,
            match_report=report,
            verification=earlier,
            based_on=number + offset - 1 if offset else None,
        )


def ensure_versions(response: AIResponse) -> None:
    """A succeeded response stored without versions (before versions existed, or made in a test or the
    admin) gets its version 1 from its own fields. Idempotent and safe under concurrency."""
    if response.status != AIResponse.Status.SUCCEEDED or response.version is not None:
        return
    with transaction.atomic():
        locked = AIResponse.objects.select_for_update().filter(pk=response.pk).first()
        if locked is None or locked.version is not None:
            response.version = locked.version if locked else None
            return
        _write(
            response,
            number=_next_number(response),
            source=Source.MODEL,
            improved_cv=locked.improved_cv,
            match_report=locked.match_report,
            verification=annotated(locked.verification, source=Source.MODEL, number=1),
        )


def _ready(response: AIResponse) -> None:
    if response.status != AIResponse.Status.SUCCEEDED:
        raise AIResponseNotReady(status=response.status)
    ensure_versions(response)


def version_get(*, response: AIResponse, number: int) -> AIResponseVersion:
    _ready(response)
    version = AIResponseVersion.objects.filter(response=response, number=number).first()
    if version is None:
        raise NotFound(f"This AI response has no version {number}.", code="version_not_found")
    return version


def versions_of(*, response: AIResponse) -> list[AIResponseVersion]:
    """Every version of a response, oldest first, without their texts (their stats instead)."""
    _ready(response)
    return list(AIResponseVersion.objects.filter(response=response).defer(*HEAVY_FIELDS).order_by("number"))


def markdown_of(*, response: AIResponse, number: int | None) -> str:
    """The improved CV alone (what an export, a PDF or a letter reads) of version ``number``, or of the
    latest for None. A version the response does not have is a 404 (``version_not_found``)."""
    if number is None or number == response.version:
        text = response.improved_cv
    else:
        found = AIResponseVersion.objects.filter(response=response, number=number).values_list("improved_cv")
        if not found:
            raise NotFound(f"This AI response has no version {number}.", code="version_not_found")
        text = found[0][0]
    return offline.cv_part(model=response.model, improved_cv=text)


def version_number_for(*, response: AIResponse, number: int | None) -> int | None:
    """The version a request names (checked to exist), or the latest for None; None for a response that
    has not succeeded (the caller refuses it)."""
    if response.status != AIResponse.Status.SUCCEEDED:
        return None
    ensure_versions(response)
    if number is None:
        return response.version
    return version_get(response=response, number=number).number


def _latest_as_dict(response: AIResponse) -> dict:
    return {
        "version": response.version,
        "improved_cv": response.improved_cv,
        "match_report": response.match_report,
        "verification": response.verification,
    }


def _conflict(response: AIResponse, *, base_version: int, precondition: bool) -> VersionConflict:
    error = VersionPreconditionFailed if precondition else VersionConflict
    return error(
        f"Version {base_version} is no longer the latest: version {response.version} was saved since. Your edit "
        "was not saved; apply it to the latest version and save again.",
        latest=_latest_as_dict(response),
    )


def version_edit(
    *, user: User, response: AIResponse, improved_cv: str, base_version: int, precondition: bool = False
) -> AIResponse:
    """Save the person's edit of version ``base_version`` as the next version.

    Refuses: an edit of a version that is no longer the latest (VersionConflict, 409, with the latest; 412
    when the base came from If-Match), an edit past the bounds of a CV (cv.intake.limits, 400), an empty one, and
    one past ``MAX_VERSIONS`` (400). An edit that changes nothing returns the response as it is. Two edits of
    the same base at once: the response row is locked, so one is saved and the other gets the conflict (and
    the unique (response, number) constraint backs that up).
    """
    _ready(response)
    text = clean_text(improved_cv or "").strip("\n")
    if not text.strip():
        raise EmptyEdit()
    limits.check_cv_text(text, subject="your edit")
    if base_version != response.version:
        raise _conflict(response, base_version=base_version, precondition=precondition)
    if text == response.improved_cv:
        return response
    _check_cap(base_version + 1)
    base = version_get(response=response, number=base_version)
    stored, person, report, verification = check_edit(response=response, text=text, base=base)
    try:
        with transaction.atomic():
            locked = AIResponse.objects.select_for_update().get(pk=response.pk)
            if locked.version != base_version:
                raise _conflict(locked, base_version=base_version, precondition=precondition)
            _write(
                response,
                number=base_version + 1,
                source=Source.PERSON,
                improved_cv=stored,
                match_report=report,
                verification=verification,
                person_lines=person,
                based_on=base_version,
                user=user,
            )
    except IntegrityError:
        response.refresh_from_db()
        raise _conflict(response, base_version=base_version, precondition=precondition) from None
    logger.info("ai response edited id=%s version=%s user_id=%s", response.pk, response.version, user.pk)
    return response


def version_restore(*, user: User, response: AIResponse, number: int) -> AIResponse:
    """Make version ``number`` the latest again, as a new ``restore`` version with that version's text, the
    same author for each line, and the same checks. Restoring the latest changes nothing."""
    restored = version_get(response=response, number=number)
    if number == response.version:
        return response
    with transaction.atomic():
        locked = AIResponse.objects.select_for_update().get(pk=response.pk)
        latest = locked.version or 0
        _check_cap(latest + 1)
        _write(
            response,
            number=latest + 1,
            source=Source.RESTORE,
            improved_cv=restored.improved_cv,
            match_report=restored.match_report,
            verification=restored.verification,
            person_lines=restored.person_lines,
            based_on=number,
            user=user,
        )
    logger.info("ai response restored id=%s version=%s from=%s", response.pk, response.version, number)
    return response


def person_text_of(*, response: AIResponse, number: int | None) -> str:
    """The lines the person wrote in version ``number`` (their own facts, support for what is written from
    it, as their request is); empty for none."""
    if number is None:
        return ""
    lines = (
        AIResponseVersion.objects.filter(response=response, number=number)
        .values_list("person_lines", flat=True)
        .first()
    )
    return "\n".join(lines or [])


def cv_markdown_of(response: AIResponse, version: int | None = None) -> str:
    """The improved CV alone (what a PDF shows), without any review addressed to the applicant: of the
    latest version, or of ``version``."""
    if version is not None and version != response.version:
        return markdown_of(response=response, number=version)
    return offline.cv_part(model=response.model, improved_cv=response.improved_cv)
