"""Writes of the pdf app: asking for a document, rendering it, re-rendering it, sweeping stuck ones."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from core import jobs
from core.exceptions import Conflict, DomainError, NotFound
from core.models import User
from cv.intake.limits import CVTextOutOfBounds, check_cv_text
from cv.versions.services import cv_markdown_of
from pdf.models import Document, document_upload_to
from pdf.rendering import DEFAULT_TEMPLATE, LETTER_TEMPLATE, TEMPLATES, render_pdf

if TYPE_CHECKING:
    from cv.models import AIResponse, CoverLetter

logger = logging.getLogger(__name__)

# A rendering takes about a second; the task's time limits (pdf.tasks, derived from the lease) are below
# PDF_RENDER_LEASE_SECONDS, so a document still "running" after it belongs to a worker that died.
RENDER_JOB = jobs.JobKind(
    model=Document,
    running=Document.Status.RUNNING,
    lease_seconds=lambda: settings.PDF_RENDER_LEASE_SECONDS,
    claimed_field="started_at",
)


class UnknownTemplateError(DomainError):
    default_code = "unknown_template"


class AIResponseNotReady(Conflict):
    default_code = "ai_response_not_ready"
    default_detail = "This AI response has not finished successfully, so there is no improved CV to render yet."


class DocumentNotReady(Conflict):
    default_code = "document_not_ready"
    default_detail = "This document has no file yet; wait until its status is succeeded."


class RenderRetryable(Exception):
    """A transient failure (storage): the task should try again after ``retry_in`` seconds."""

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


@dataclass(frozen=True)
class Failure:
    """Why a render failed, as the document records it (``error_code``) and tells its owner (``error``).

    ``again_when_asked``: whether asking again for the same text renders it again. Only a failure outside the
    render does (the file could not be stored). Any other is final until the text changes (a new text is a
    new document), ours included: rendering the same text the same way fails the same way, and a person must
    not be able to hold the PDF worker with it over and over. The admin's re-render runs one again.
    """

    code: str
    message: str
    again_when_asked: bool = False


_CHANGE_IT = (
    "Change the text (or, for a CV, choose another template) and ask again; the same text is not rendered again."
)
FAILURES = {
    failure.code: failure
    for failure in (
        Failure("render_failed", f"The PDF could not be rendered. {_CHANGE_IT}"),
        Failure("render_timeout", f"Rendering took too long; the text may be unusually large. {_CHANGE_IT}"),
        # An error of ours: the admin's re-render runs it again once it is fixed.
        Failure(
            "internal_error",
            "The PDF could not be rendered because of an error on our side, which is logged. Ask again once "
            "the text has changed.",
        ),
        Failure("render_abandoned", f"Rendering did not finish after several attempts. {_CHANGE_IT}"),
        # Set with the bound's own message (cv.intake.limits): a document queued before the bounds existed.
        Failure("content_too_large", "This text is too large to render."),
        Failure(
            "storage_failed",
            "The PDF was rendered but could not be stored. Please try again later.",
            again_when_asked=True,
        ),
    )
}


def _renders_again_when_asked(document: Document) -> bool:
    """A request for this document's text queues a render again (a failure not of the text's doing, or a
    finished file that has gone missing from storage)."""
    if document.status == Document.Status.FAILED:
        if not document.error_code:
            # Failed before failures had codes, when asking again always rendered again: once more, then coded.
            return True
        failure = FAILURES.get(document.error_code)
        return failure is not None and failure.again_when_asked
    return document.status == Document.Status.SUCCEEDED and not _file_exists(document)


def content_hash_for(*, markdown: str, template: str) -> str:
    return hashlib.sha256(f"{template}\0{markdown}".encode()).hexdigest()


def _enqueue(document: Document, *, robust: bool = True) -> None:
    """Queue a render once the surrounding transaction commits (core.jobs.enqueue: robust, a failed send is
    logged and the sweep sends it again; not robust, RedisUnavailable reaches ``jobs.start``, which undoes
    the request)."""
    Document.objects.filter(pk=document.pk).update(enqueued_at=timezone.now())
    jobs.enqueue(RENDER, document.pk, robust=robust)


_RESET_FIELDS = ("status", "error", "error_code", "attempts", "started_at", "finished_at", "enqueued_at")


def document_request(
    *, user: User, ai_response: AIResponse | int, template: str | None = None, version: int | None = None
) -> tuple[Document, bool]:
    """Ask for ``ai_response`` rendered in ``template``; returns (document, created).

    The same content in the same template yields the same document, even for concurrent requests (the
    unique constraint decides). A text past the size bounds is refused (ContentTooLarge, 400) before
    anything is stored. A failed document asked for again is returned as it is, failed with its error,
    unless its failure was not the text's doing (``Failure.again_when_asked``); one whose file has gone
    missing from storage is queued again. Each call is one of the plan's API calls (the view is work), so a
    render that runs always costs its request. If the broker cannot take the render, the request is undone
    (a new document deleted, a reset one put back as it was) and RedisUnavailable (503) is raised.
    """
    return jobs.start(
        partial(_document_request, user=user, ai_response=ai_response, template=template, version=version)
    )


def _document_request(
    undo: jobs.Undo, *, user: User, ai_response, template, version: int | None
) -> tuple[Document, bool]:
    from cv.models import AIResponse
    from cv.versions import services as versions

    template = template or DEFAULT_TEMPLATE
    if template not in TEMPLATES:
        raise UnknownTemplateError(
            f"Unknown template {template!r}; choose one of: {', '.join(sorted(TEMPLATES))}.", template=template
        )
    response_id = ai_response.pk if isinstance(ai_response, AIResponse) else ai_response
    response = AIResponse.objects.filter(pk=response_id, user=user).first()
    if response is None:
        # Another user's response is indistinguishable from a missing one.
        raise NotFound("AI response not found.")
    # The version asked for (cv.versions.services; default the latest, a missing one a 404): its text is the content.
    number = versions.version_number_for(response=response, number=version)
    markdown = cv_markdown_of(response, number)
    if response.status != AIResponse.Status.SUCCEEDED or not markdown.strip():
        raise AIResponseNotReady(status=response.status)
    check_cv_text(markdown, subject="the CV")
    document, created = _document_for(
        undo, ai_response_id=response.pk, template=template, text=markdown, defaults={"user": user, "version": number}
    )
    logger.info("pdf document requested document=%s created=%s template=%s", document.pk, created, template)
    return document, created


def _document_for(
    undo: jobs.Undo, *, ai_response_id: int, template: str, text: str, defaults: dict
) -> tuple[Document, bool]:
    """The document of ``text`` in ``template``, queued if it is new or renders again when asked, with how to
    take that back (a new document deleted, a reset one put back as it was) should the broker refuse it."""
    document, created = Document.objects.get_or_create(
        ai_response_id=ai_response_id,
        template=template,
        content_hash=content_hash_for(markdown=text, template=template),
        defaults=defaults,
    )
    document_id = document.pk
    if created:
        undo.append(lambda: Document.objects.filter(pk=document_id, status=Document.Status.PENDING).delete())
        _enqueue(document, robust=False)
    elif _renders_again_when_asked(document):
        before = {name: getattr(document, name) for name in _RESET_FIELDS}
        undo.append(lambda: Document.objects.filter(pk=document_id, status=Document.Status.PENDING).update(**before))
        document = _document_reset(document_id=document_id, robust=False)
    return document, created


class CoverLetterNotReady(Conflict):
    default_code = "cover_letter_not_ready"
    default_detail = "This cover letter has not been written yet; wait until its status is succeeded."


def letter_document_request(*, user: User, cover_letter: CoverLetter | int) -> tuple[Document, bool]:
    """Ask for a cover letter rendered in the letter template; returns (document, created). The same letter
    asked for again yields the same document, and the size bounds, a failure and a broker that is down
    (503, nothing saved) apply, as for CVs."""
    return jobs.start(partial(_letter_document_request, user=user, cover_letter=cover_letter))


def _letter_document_request(undo: jobs.Undo, *, user: User, cover_letter) -> tuple[Document, bool]:
    from cv.models import CoverLetter

    letter_id = cover_letter.pk if isinstance(cover_letter, CoverLetter) else cover_letter
    letter = CoverLetter.objects.filter(pk=letter_id, user=user).first()
    if letter is None:
        raise NotFound("Cover letter not found.")
    if letter.status != CoverLetter.Status.SUCCEEDED or not letter.letter.strip():
        raise CoverLetterNotReady(status=letter.status)
    check_cv_text(letter.letter, subject="the cover letter")
    document, created = _document_for(
        undo,
        ai_response_id=letter.ai_response_id,
        template=LETTER_TEMPLATE.slug,
        text=letter.letter,
        defaults={"user": user, "cover_letter": letter},
    )
    logger.info("pdf letter document requested document=%s created=%s", document.pk, created)
    return document, created


def _file_exists(document: Document) -> bool:
    return bool(document.file) and document.file.storage.exists(document.file.name)


def _document_reset(*, document_id: int, robust: bool = True) -> Document:
    document = Document.objects.select_for_update().get(pk=document_id)
    if document.status in (Document.Status.PENDING, Document.Status.RUNNING) and not RENDER_JOB.lease_passed(document):
        return document
    document.status = Document.Status.PENDING
    document.error = ""
    document.error_code = ""
    document.attempts = 0
    document.started_at = None
    document.finished_at = None
    document.save(update_fields=["status", "error", "error_code", "attempts", "started_at", "finished_at"])
    _enqueue(document, robust=robust)
    return document


@transaction.atomic
def document_rerender(*, document: Document) -> Document:
    """Render again (admin action). The current file is kept until the new one replaces it."""
    return _document_reset(document_id=document.pk)


def retry_delay(*, attempt: int) -> float:
    """Seconds before a render whose file could not be stored is tried again."""
    return jobs.backoff_seconds(
        attempt,
        base=settings.PDF_RETRY_BASE_SECONDS,
        cap=settings.PDF_RETRY_BASE_SECONDS * settings.PDF_MAX_ATTEMPTS,
    )


def render_time_limits() -> dict[str, float]:
    """The render task's time limits, sent with each message: below the lease (PDF_RENDER_LEASE_SECONDS), so
    a live render is never taken over. The soft limit (3/4 of the lease, 45 s of 60) ends it `render_timeout`;
    the hard one (11/12, 55 s) kills a render that ignores it, and the sweep takes the document back."""
    lease = settings.PDF_RENDER_LEASE_SECONDS
    return {"soft_time_limit": lease * 3 / 4, "time_limit": lease * 11 / 12}


def _title_for(response: AIResponse, kind: str = "CV") -> str:
    questionnaire = getattr(response, "questionnaire", None)
    position = (getattr(questionnaire, "position", "") or "").strip()
    return f"{kind} - {position}" if position else kind


def _failed(code: str, message: str = "") -> jobs.PermanentError:
    return jobs.PermanentError(message or FAILURES[code].message, code=code)


def _render(document: Document) -> dict:
    """One attempt's work: render the text and store the file; the fields to store with ``succeeded``."""
    response = document.ai_response
    letter = document.cover_letter
    markdown = letter.letter if letter is not None else cv_markdown_of(response, document.version)
    title = _title_for(response, "Cover letter" if letter is not None else "CV")
    try:
        # Requests check the bounds too; this catches a document queued before they existed, in
        # milliseconds instead of a render that runs into the time limit.
        check_cv_text(markdown, subject="the cover letter" if letter is not None else "the CV")
        rendered = render_pdf(markdown=markdown, template=document.template, title=title)
    except CVTextOutOfBounds as exc:
        raise _failed("content_too_large", exc.detail) from exc
    except SoftTimeLimitExceeded as exc:
        raise _failed("render_timeout") from exc
    except Exception as exc:
        logger.exception("pdf render crashed document=%s", document.pk)
        raise _failed("render_failed") from exc
    try:
        name = default_storage.save(document_upload_to(document, "cv.pdf"), ContentFile(rendered.content))
    except OSError as exc:
        logger.warning("pdf storage failed document=%s attempt=%s: %s", document.pk, document.attempts, exc)
        raise jobs.TransientError(FAILURES["storage_failed"].message, code="storage_failed") from exc
    logger.info("pdf rendered document=%s pages=%s bytes=%s", document.pk, rendered.pages, len(rendered.content))
    return {"file": name, "size": len(rendered.content), "pages": rendered.pages}


def _stored(document: Document, fields: dict, done: bool) -> None:
    previous = document.file.name if document.file else ""
    if not done:
        # Another claim (a takeover after our lease ran out) owns the row now; our file is nobody's.
        default_storage.delete(fields["file"])
    elif previous and previous != fields["file"]:
        # A re-render replaced an earlier file.
        default_storage.delete(previous)


RENDER = jobs.JobSpec(
    kind=RENDER_JOB,
    name="pdf document",
    task="pdf.tasks.render_document",
    work=_render,
    stored=_stored,
    fetch=lambda: Document.objects.select_related("ai_response", "cover_letter"),
    crashed=jobs.Failure("internal_error", FAILURES["internal_error"].message),
    interrupted=jobs.Failure("render_abandoned", FAILURES["render_abandoned"].message),
    send_options=lambda: render_time_limits(),
    max_attempts=lambda: settings.PDF_MAX_ATTEMPTS,
    retry_delay=lambda attempt, retry_after: retry_delay(attempt=attempt),
    # Pending past the lease: the queue message was lost (or the queue is very busy: a duplicate is harmless).
    resend_after=lambda: timedelta(seconds=settings.PDF_RENDER_LEASE_SECONDS),
    claim_fields=lambda: {"finished_at": None},
    waiting_fields=lambda: {"finished_at": None},
)


def document_render(*, document_id: int) -> Document | None:
    """Render one document and store its file (core.jobs.run). Safe to run twice for the same id (only one
    claim wins): None when it was not ours to render.

    Raises RenderRetryable when storage failed and attempts remain; every other failure ends in `failed`
    with an error the owner can read.
    """
    outcome = jobs.run(RENDER, document_id)
    if outcome.state == "retry":
        raise RenderRetryable(f"document {document_id} could not be stored", retry_in=cast(float, outcome.retry_in))
    if outcome.job is None:
        logger.info("pdf render skipped document=%s (not pending or already taken)", document_id)
    return outcome.job


def documents_sweep_stuck() -> list[int]:
    """Beat: give stuck documents another go, or fail them after PDF_MAX_ATTEMPTS; send again the pending
    ones whose message was lost (once per lease). Returns the ids queued."""
    swept = jobs.sweep(RENDER)
    return [*swept.requeued, *swept.resent]
