"""Writes of the CV app about questionnaires and their CV files: create, change and delete a questionnaire,
read an uploaded CV under the rules that keep hostile files from stalling the service."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core import redis_safety
from core.exceptions import DomainError
from core.hot_path.list_pages import lists_changed
from core.models import User
from core.quotas import quota_consume, quota_release
from core.text import clean_text
from cv.intake import limits
from cv.intake.docx_text import extract_resume_text
from cv.intake.pdf_text import MAX_TEXT_CHARS, CVFileError
from cv.models import JOB_FIELDS, CVQuestionnaire

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractedResume:
    content: bytes
    text: str
    pages: int
    extension: str = "pdf"


class UploadInProgress(DomainError):
    status_code = 429
    default_code = "upload_in_progress"
    default_detail = "Another of your CV uploads is still being read. Wait until it finishes, then try again."


def resume_validate(*, upload: UploadedFile) -> ExtractedResume:
    """Check an uploaded CV and read its text; refuses a bad file with a field error that says what is wrong,
    and a text past the bounds of a CV with CVTextOutOfBounds (a 400 naming the bound and its limit)."""
    try:
        text, pages, extension = extract_resume_text(upload)
    except CVFileError as exc:
        raise _resume_refused(exc) from exc
    if len(text) >= MAX_TEXT_CHARS and len(text) > settings.CV_MAX_TEXT_CHARS:
        # Extraction stops reading at MAX_TEXT_CHARS: the file holds at least that much text.
        raise limits.text_too_long(length=len(text), at_least=True)
    limits.check_cv_text(text)
    upload.seek(0)
    return ExtractedResume(content=upload.read(), text=text, pages=pages, extension=extension)


def _resume_refused(exc: CVFileError) -> ValidationError:
    return ValidationError({"resume": [ValidationError(exc.message, code=exc.code)]})


def _upload_parse_key(user_id: int) -> str:
    return f"cvimprover:upload_parse:{user_id}"


def _with_parsed_upload(*, user: User, upload: UploadedFile, scopes: tuple[str, ...], work):
    """Read an uploaded CV under the rules that keep hostile files from stalling the service, then ``work(resume)``.

    - One parse per person at a time: a second upload while one is being read is a 429 `upload_in_progress`
      (a Redis lock that expires by itself; with Redis down the upload is a 503 and costs nothing).
    - The quota units (``scopes``, "uploads" among them) are taken and committed before the file is parsed,
      so parsing is paid for even when it is refused. The upload unit counts the attempt: it is kept when the
      file was parsed and refused (too complex, damaged, no text, a text past the bounds...), and given back
      when it was refused before any parsing (empty, not a PDF, too large) or when nothing was parsed at all.
      Every other unit (the questionnaire's) is given back whenever no questionnaire results.
    """
    ttl = settings.CV_EXTRACT_TIMEOUT + 15
    with redis_safety.exclusive(
        _upload_parse_key(user.pk), ttl_seconds=ttl, busy=UploadInProgress, what="the CV upload lock"
    ):
        with transaction.atomic():
            days = {scope: quota_consume(user=user, scope=scope) for scope in scopes}
        keep_upload_unit = False
        try:
            try:
                resume = resume_validate(upload=upload)
            except ValidationError as exc:
                cause = exc.__cause__
                keep_upload_unit = isinstance(cause, CVFileError) and cause.parsed
                raise
            except limits.CVTextOutOfBounds:
                keep_upload_unit = True
                raise
            return work(resume)
        except BaseException:
            for scope, day in days.items():
                if not (scope == "uploads" and keep_upload_unit):
                    quota_release(user=user, scope=scope, day=day)
            raise


def resume_file_release_on_commit(*, user_id: int, name: str, storage=None) -> None:
    """Once committed, delete the CV file ``name`` unless a questionnaire of its owner still uses it (a
    questionnaire made with ``resume_from`` shares its source's file): the file lives until its last
    questionnaire is gone, however they go (the API, retention, the account's deletion)."""
    from django.core.files.storage import default_storage

    storage = storage or default_storage

    def release() -> None:
        if not CVQuestionnaire.objects.filter(user_id=user_id, resume=name).exists():
            storage.delete(name)

    if name:
        transaction.on_commit(release, robust=True)


def _save_with_resume(questionnaire: CVQuestionnaire, resume: ExtractedResume | None) -> None:
    """Save the row, writing the CV file first if there is one; a failure deletes the file written."""
    if resume is None:
        questionnaire.save()
        return
    # A PDF's or Word file's text may hold NUL or control characters, which PostgreSQL and Word exports refuse.
    questionnaire.resume_text = clean_text(resume.text)
    questionnaire.resume_pages = resume.pages
    questionnaire.resume.save(f"cv.{resume.extension}", ContentFile(resume.content), save=False)
    try:
        questionnaire.save()
    except BaseException:
        questionnaire.resume.storage.delete(questionnaire.resume.name)
        raise


def _atomic_with_file_cleanup(work):
    """Run ``work`` in a transaction; if it does not commit, delete any CV file it wrote.

    Nested in an outer transaction that rolls back later, a written file is left behind; the cleanup
    command removes such orphans.
    """
    written: list[str] = []
    try:
        with transaction.atomic():
            return work(written)
    except BaseException:
        from django.core.files.storage import default_storage

        for name in written:
            default_storage.delete(name)
        raise


class ResumeSourceInvalid(ValidationError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__({"resume_from": [ValidationError(message, code=code)]})


@transaction.atomic
def _questionnaire_create_from(*, user: User, data: dict, resume_from: int) -> CVQuestionnaire:
    """A questionnaire that shares the CV of another of the person's questionnaires: the same stored file
    (not a copy) and its text, read and checked when it was uploaded. One questionnaire unit, no upload unit."""
    lists_changed(user_id=user.pk)  # first: the user row is locked before the questionnaire's
    # Locked, so the source cannot be deleted (and its file with it) while this one takes the file.
    source = CVQuestionnaire.objects.select_for_update().filter(pk=resume_from, user=user).first()
    if source is None:
        raise ResumeSourceInvalid(f"You have no questionnaire {resume_from}.", code="does_not_exist")
    if not source.resume or not source.resume_text:
        raise ResumeSourceInvalid(
            f"Questionnaire {resume_from} has no CV to reuse: upload your CV (a PDF or Word file) instead.",
            code="no_resume",
        )
    quota_consume(user=user, scope="questionnaires")
    questionnaire = CVQuestionnaire(user=user, **{k: v for k, v in data.items() if k in JOB_FIELDS})
    questionnaire.resume.name = source.resume.name
    questionnaire.resume_text = source.resume_text
    questionnaire.resume_pages = source.resume_pages
    questionnaire.save()
    return questionnaire


def questionnaire_create(
    *, user: User, data: dict, upload: UploadedFile | None = None, resume_from: int | None = None
) -> CVQuestionnaire:
    """Create a questionnaire (one unit of the daily questionnaires quota; a CV costs an upload unit too).
    ``resume_from``: the id of another of the person's questionnaires whose CV this one shares instead."""
    if resume_from is not None:
        if upload is not None:
            raise ResumeSourceInvalid("Send either a CV file (resume) or resume_from, not both.", code="invalid")
        questionnaire = _questionnaire_create_from(user=user, data=data, resume_from=resume_from)
        logger.info("questionnaire created id=%s user_id=%s from=%s", questionnaire.pk, user.pk, resume_from)
        return questionnaire

    def save(resume: ExtractedResume | None, *, take_quota: bool):
        def work(written: list[str]) -> CVQuestionnaire:
            lists_changed(user_id=user.pk)  # first: the user row is locked before the questionnaire's
            if take_quota:
                quota_consume(user=user, scope="questionnaires")
            questionnaire = CVQuestionnaire(user=user, **{k: v for k, v in data.items() if k in JOB_FIELDS})
            _save_with_resume(questionnaire, resume)
            if resume is not None:
                written.append(questionnaire.resume.name)
            return questionnaire

        return _atomic_with_file_cleanup(work)

    if upload is None:
        questionnaire = save(None, take_quota=True)
    else:
        questionnaire = _with_parsed_upload(
            user=user,
            upload=upload,
            scopes=("questionnaires", "uploads"),
            work=lambda resume: save(resume, take_quota=False),
        )
    logger.info("questionnaire created id=%s user_id=%s with_cv=%s", questionnaire.pk, user.pk, upload is not None)
    return questionnaire


def questionnaire_update(
    *, questionnaire: CVQuestionnaire, data: dict, upload: UploadedFile | None = None
) -> CVQuestionnaire:
    """Change a questionnaire; a new CV (one upload unit) replaces the old file, deleted once committed."""

    def save(resume: ExtractedResume | None) -> CVQuestionnaire:
        def work(written: list[str]) -> CVQuestionnaire:
            lists_changed(user_id=questionnaire.user_id)  # first: the user row before the questionnaire's
            old_file = questionnaire.resume.name if resume is not None else ""
            for field, value in data.items():
                if field in JOB_FIELDS:
                    setattr(questionnaire, field, value)
            _save_with_resume(questionnaire, resume)
            if resume is not None:
                written.append(questionnaire.resume.name)
            if old_file:
                resume_file_release_on_commit(user_id=questionnaire.user_id, name=old_file)
            return questionnaire

        return _atomic_with_file_cleanup(work)

    if upload is None:
        return save(None)
    return _with_parsed_upload(user=questionnaire.user, upload=upload, scopes=("uploads",), work=save)


@transaction.atomic
def questionnaire_delete(*, questionnaire: CVQuestionnaire) -> None:
    # The CV file goes with the row (cv.signals deletes it after the commit).
    lists_changed(user_id=questionnaire.user_id)  # first: the user row before the questionnaire's
    questionnaire.delete()
