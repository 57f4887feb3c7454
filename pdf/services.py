"""Writes of the pdf app: asking for a document, rendering it, re-rendering it, sweeping stuck ones."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import jobs, redis_safety
from core.exceptions import Conflict, DomainError, NotFound
from core.models import User
from cv.limits import CVTextOutOfBounds, check_cv_text
from cv.selectors import cv_markdown_of
from pdf.models import Document, document_upload_to
from pdf.rendering import DEFAULT_TEMPLATE, LETTER_TEMPLATE, TEMPLATES, render_pdf

if TYPE_CHECKING:
    from cv.models import AIResponse, CoverLetter

logger = logging.getLogger(__name__)

# A rendering takes about a second; the task's time limit (tasks.py) is below this lease, so a document
# still "running" after it belongs to a worker that died and may be taken over.
RENDER_LEASE_SECONDS = settings.PDF_RENDER_LEASE_SECONDS
MAX_ATTEMPTS = settings.PDF_MAX_ATTEMPTS
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
    """A transient failure (storage): the task should try again later."""


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
        # Set with the bound's own message (cv.limits): a document queued before the bounds existed.
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


def _send_render(document_id: int) -> None:
    from pdf.tasks import render_document

    redis_safety.send_task(render_document, (document_id,))


def _enqueue(document: Document, *, robust: bool = True) -> None:
    """Queue a render once the surrounding transaction commits (a worker must see the row).

    robust: a failed send is logged and the sweep re-queues the pending document later. Not robust: the
    failure (RedisUnavailable) reaches the code that committed, which undoes the request.
    """
    document_id = document.pk
    Document.objects.filter(pk=document_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: _send_render(document_id), robust=robust)


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
    undo: list = []
    try:
        with transaction.atomic():
            return _document_request(user=user, ai_response=ai_response, template=template, version=version, undo=undo)
    except redis_safety.RedisUnavailable:
        with transaction.atomic():
            for step in undo:
                step()
        raise


def _document_request(*, user: User, ai_response, template, version: int | None, undo: list) -> tuple[Document, bool]:
    from cv import versions
    from cv.models import AIResponse

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
    # The version asked for (cv.versions; default the latest, a missing one a 404): its text is the content.
    number = versions.version_number_for(response=response, number=version)
    markdown = cv_markdown_of(response, number)
    if response.status != AIResponse.Status.SUCCEEDED or not markdown.strip():
        raise AIResponseNotReady(status=response.status)
    check_cv_text(markdown, subject="the CV")

    document, created = Document.objects.get_or_create(
        ai_response=response,
        template=template,
        content_hash=content_hash_for(markdown=markdown, template=template),
        defaults={"user": user, "version": number},
    )
    document_id = document.pk
    if created:
        undo.append(lambda: Document.objects.filter(pk=document_id, status=Document.Status.PENDING).delete())
        _enqueue(document, robust=False)
    elif _renders_again_when_asked(document):
        before = {name: getattr(document, name) for name in _RESET_FIELDS}
        undo.append(lambda: Document.objects.filter(pk=document_id, status=Document.Status.PENDING).update(**before))
        document = _document_reset(document_id=document_id, robust=False)
    logger.info("pdf document requested document=%s created=%s template=%s", document.pk, created, template)
    return document, created


class CoverLetterNotReady(Conflict):
    default_code = "cover_letter_not_ready"
    default_detail = "This cover letter has not been written yet; wait until its status is succeeded."


@transaction.atomic
def letter_document_request(*, user: User, cover_letter: CoverLetter | int) -> tuple[Document, bool]:
    """Ask for a cover letter rendered in the letter template; returns (document, created). The same letter
    asked for again yields the same document, and the size bounds and a failure apply, as for CVs."""
    from cv.models import CoverLetter

    letter_id = cover_letter.pk if isinstance(cover_letter, CoverLetter) else cover_letter
    letter = CoverLetter.objects.filter(pk=letter_id, user=user).first()
    if letter is None:
        raise NotFound("Cover letter not found.")
    if letter.status != CoverLetter.Status.SUCCEEDED or not letter.letter.strip():
        raise CoverLetterNotReady(status=letter.status)
    check_cv_text(letter.letter, subject="the cover letter")
    template = LETTER_TEMPLATE.slug
    document, created = Document.objects.get_or_create(
        ai_response_id=letter.ai_response_id,
        template=template,
        content_hash=content_hash_for(markdown=letter.letter, template=template),
        defaults={"user": user, "cover_letter": letter},
    )
    if created:
        _enqueue(document)
    elif _renders_again_when_asked(document):
        document = _document_reset(document_id=document.pk)
    logger.info("pdf letter document requested document=%s created=%s", document.pk, created)
    return document, created


def _file_exists(document: Document) -> bool:
    return bool(document.file) and document.file.storage.exists(document.file.name)


def _document_reset(*, document_id: int, robust: bool = True) -> Document:
    document = Document.objects.select_for_update().get(pk=document_id)
    if document.status in (Document.Status.PENDING, Document.Status.RUNNING) and not _is_stale(document):
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


def _is_stale(document: Document) -> bool:
    return RENDER_JOB.lease_passed(document)


def _claim(document_id: int) -> Document | None:
    """pending -> running, or take over a running document whose lease expired. None if not ours to do."""
    return jobs.claim(
        RENDER_JOB,
        pk=document_id,
        claimable=Q(status=Document.Status.PENDING),
        fetch=Document.objects.select_related("ai_response", "cover_letter"),
        finished_at=None,
    )


def _finish(document: Document, **fields) -> bool:
    """Write the outcome if the claim is still ours (a stale takeover may have replaced it)."""
    fields.setdefault("finished_at", timezone.now())
    return jobs.finish(RENDER_JOB, document, **fields)


def retry_delay(*, attempt: int) -> float:
    """Seconds before a render whose file could not be stored is tried again."""
    return jobs.backoff_seconds(
        attempt, base=settings.PDF_RETRY_BASE_SECONDS, cap=settings.PDF_RETRY_BASE_SECONDS * MAX_ATTEMPTS
    )


def _fail(document: Document, code: str, message: str = "") -> None:
    _finish(document, status=Document.Status.FAILED, error=message or FAILURES[code].message, error_code=code)
    logger.warning("pdf document failed document=%s code=%s attempts=%s", document.pk, code, document.attempts)


def _title_for(response: AIResponse, kind: str = "CV") -> str:
    questionnaire = getattr(response, "questionnaire", None)
    position = (getattr(questionnaire, "position", "") or "").strip()
    return f"{kind} - {position}" if position else kind


def document_render(*, document_id: int) -> Document | None:
    """Render one document and store its file. Safe to run twice for the same id (only one claim wins).

    Raises RenderRetryable when storage failed and attempts remain; every other failure ends in `failed`
    with an error the owner can read.
    """
    document = _claim(document_id)
    if document is None:
        logger.info("pdf render skipped document=%s (not pending or already taken)", document_id)
        return None
    return jobs.run_claimed(document, _render, crashed=_crashed, passes=(RenderRetryable,))


def _crashed(document: Document, exc: Exception) -> Document:
    _fail(document, "internal_error")
    return document


def _render(document: Document) -> Document:
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
        _fail(document, "content_too_large", exc.detail)
        return document
    except SoftTimeLimitExceeded:
        _fail(document, "render_timeout")
        return document
    except Exception:
        logger.exception("pdf render crashed document=%s", document.pk)
        _fail(document, "render_failed")
        return document

    try:
        name = default_storage.save(document_upload_to(document, "cv.pdf"), ContentFile(rendered.content))
    except OSError as exc:
        logger.warning("pdf storage failed document=%s attempt=%s: %s", document.pk, document.attempts, exc)
        if document.attempts < MAX_ATTEMPTS:
            _finish(document, status=Document.Status.PENDING)
            raise RenderRetryable(str(exc)) from exc
        _fail(document, "storage_failed")
        return document

    previous = document.file.name if document.file else ""
    stored = _finish(
        document,
        status=Document.Status.SUCCEEDED,
        file=name,
        size=len(rendered.content),
        pages=rendered.pages,
        error="",
        error_code="",
    )
    if not stored:
        # Another claim (a takeover after our lease ran out) owns the row now; our file is nobody's.
        default_storage.delete(name)
    elif previous and previous != name:
        # A re-render replaced an earlier file.
        default_storage.delete(previous)
    logger.info(
        "pdf render finished document=%s stored=%s pages=%s bytes=%s",
        document.pk,
        stored,
        rendered.pages,
        len(rendered.content),
    )
    return document


def _give_up(document: Document) -> None:
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.FAILED,
        error=FAILURES["render_abandoned"].message,
        error_code="render_abandoned",
        finished_at=timezone.now(),
        lease_token=None,
    )


def _requeue(document: Document) -> bool:
    if not _finish(document, status=Document.Status.PENDING, finished_at=None):
        return False
    _enqueue(document)
    return True


@transaction.atomic
def documents_sweep_stuck() -> list[int]:
    """Beat: give stuck documents another go, or fail them after MAX_ATTEMPTS. Returns the ids queued.

    Running past the lease means the worker died mid-render; pending past the lease means the queue
    message was lost (or the queue is very busy: a duplicate message is harmless, the claim is atomic;
    `enqueued_at` keeps it to one extra message per lease).
    """
    queued: list[int] = []

    def requeue(document: Document) -> bool:
        if _requeue(document):
            queued.append(document.pk)
            return True
        return False

    jobs.sweep_expired(RENDER_JOB, max_attempts=MAX_ATTEMPTS, requeue=requeue, give_up=_give_up)
    cutoff = timezone.now() - timedelta(seconds=RENDER_LEASE_SECONDS)
    lost = Document.objects.select_for_update(skip_locked=True).filter(
        Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True), status=Document.Status.PENDING
    )
    for document in lost:
        if document.attempts >= MAX_ATTEMPTS:
            _give_up(document)
            continue
        _enqueue(document)
        queued.append(document.pk)
    if queued:
        logger.info("pdf stuck documents re-queued count=%s", len(queued))
    return queued
