"""Data retention: delete old analyses and rendered PDFs, and stored files no row refers to any more."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.apps import apps
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cv.models import RESUME_PREFIX, AIResponse, CVQuestionnaire

logger = logging.getLogger(__name__)

# Where the CV and PDF apps keep their files in the default storage.
MANAGED_PREFIXES = (RESUME_PREFIX, "documents")
# A file younger than this may belong to an upload whose row is not committed yet.
ORPHAN_GRACE = timedelta(hours=1)
_BATCH = 500


@dataclass
class CleanupResult:
    dry_run: bool
    responses: int = 0
    documents: int = 0
    orphan_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self), "orphan_files": len(self.orphan_files)}


def _document_model():
    try:
        return apps.get_model("pdf", "Document")
    except LookupError:
        return None


def _walk(prefix: str):
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from _walk(f"{prefix}/{directory}")


def _referenced_files() -> set[str]:
    names = set(CVQuestionnaire.objects.exclude(resume="").values_list("resume", flat=True))
    document = _document_model()
    if document is not None:
        names |= set(document.objects.exclude(file="").values_list("file", flat=True))
    return names


def _is_recent(name: str, now) -> bool:
    try:
        return default_storage.get_modified_time(name) > now - ORPHAN_GRACE
    except (NotImplementedError, OSError):
        return True  # cannot tell: keep it


def _delete_in_batches(queryset) -> int:
    deleted = 0
    while True:
        batch = list(queryset.values_list("pk", flat=True)[:_BATCH])
        if not batch:
            return deleted
        with transaction.atomic():
            # Through the ORM (not raw SQL) so the post_delete receivers remove each row's file.
            queryset.model.objects.filter(pk__in=batch).delete()
        deleted += len(batch)


def cleanup_old_data(*, days: int, dry_run: bool = False) -> CleanupResult:
    if days < 1:
        raise ValueError("days must be at least 1")
    now = timezone.now()
    cutoff = now - timedelta(days=days)
    result = CleanupResult(dry_run=dry_run)

    old_responses = AIResponse.objects.filter(created_at__lt=cutoff).exclude(
        status__in=[AIResponse.Status.PENDING, AIResponse.Status.RUNNING]
    )
    document = _document_model()
    old_documents = (
        document.objects.filter(Q(created_at__lt=cutoff) | Q(ai_response__in=old_responses)) if document else None
    )
    if dry_run:
        result.responses = old_responses.count()
        result.documents = old_documents.count() if old_documents is not None else 0
    else:
        result.documents = _delete_in_batches(old_documents) if old_documents is not None else 0
        result.responses = _delete_in_batches(old_responses)

    referenced = _referenced_files()
    for prefix in MANAGED_PREFIXES:
        for name in _walk(prefix):
            if name in referenced or _is_recent(name, now):
                continue
            result.orphan_files.append(name)
            if not dry_run:
                default_storage.delete(name)
    logger.info(
        "cleanup_old_data days=%s dry_run=%s responses=%s documents=%s orphan_files=%s",
        days, dry_run, result.responses, result.documents, len(result.orphan_files),
    )  # fmt: skip
    return result
