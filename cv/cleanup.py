"""Data retention: delete old analyses, the data other apps keep about them, and stored files no row refers to.

Apps above cv (pdf's rendered documents) take part through the `retained_data` signal: each receiver
returns a RetainedData saying which of its rows go and which files it still refers to, so cv never
imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone

from cv.models import RESUME_PREFIX, AIResponse, CVQuestionnaire

logger = logging.getLogger(__name__)

# A file younger than this may belong to an upload whose row is not committed yet.
ORPHAN_GRACE = timedelta(hours=1)
_BATCH = 500


@dataclass(frozen=True)
class RetainedData:
    """Rows and files another app keeps about analyses, cleaned with them."""

    name: str  # its count's key in the result ("documents")
    label: str  # its count's words in the command's report ("PDF documents")
    prefix: str  # the storage folder whose files it owns
    # Its rows to delete: those older than the cutoff or belonging to the old analyses (given).
    expired: Callable[[datetime, QuerySet[AIResponse]], QuerySet]
    # The file names its rows still refer to.
    files: Callable[[], Iterable[str]]


# Sent (no arguments) at each clean-up; a receiver returns its app's RetainedData.
retained_data = Signal()


@dataclass
class CleanupResult:
    dry_run: bool
    responses: int = 0
    # RetainedData.name -> rows deleted (or that would be)
    retained: dict[str, int] = field(default_factory=dict)
    orphan_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "responses": self.responses,
            **self.retained,
            "orphan_files": len(self.orphan_files),
        }


def _retained_parts() -> list[RetainedData]:
    return [part for _, part in retained_data.send(sender=CleanupResult) if part is not None]


def retained_data_labels() -> dict[str, str]:
    return {part.name: part.label for part in _retained_parts()}


def _walk(prefix: str):
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from _walk(f"{prefix}/{directory}")


def _referenced_files(parts: list[RetainedData]) -> set[str]:
    names = set(CVQuestionnaire.objects.exclude(resume="").values_list("resume", flat=True))
    for part in parts:
        names |= set(part.files())
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
    parts = _retained_parts()
    for part in parts:
        # Before the analyses, so a part's rows go through its own batches (and file receivers).
        expired = part.expired(cutoff, old_responses)
        result.retained[part.name] = expired.count() if dry_run else _delete_in_batches(expired)
    result.responses = old_responses.count() if dry_run else _delete_in_batches(old_responses)

    referenced = _referenced_files(parts)
    for prefix in (RESUME_PREFIX, *(part.prefix for part in parts)):
        for name in _walk(prefix):
            if name in referenced or _is_recent(name, now):
                continue
            result.orphan_files.append(name)
            if not dry_run:
                default_storage.delete(name)
    logger.info(
        "cleanup_old_data days=%s dry_run=%s responses=%s retained=%s orphan_files=%s",
        days, dry_run, result.responses, result.retained, len(result.orphan_files),
    )  # fmt: skip
    return result
