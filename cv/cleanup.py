"""Data retention: questionnaires nobody used for the retention period go with their CV file and everything that
hangs off them; old finished analyses go with what hangs off them; stored files no row refers to are removed.

Rows are deleted through the ORM, so each app's post_delete receivers remove its own files (cv its CVs, pdf its
rendered documents): this module knows no model above cv.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.core.files.storage import default_storage
from django.db import models, router, transaction
from django.db.models.deletion import Collector
from django.utils import timezone

from cv.models import RESUME_PREFIX, AIResponse, CVQuestionnaire

logger = logging.getLogger(__name__)

# A file younger than this may belong to an upload whose row is not committed yet.
ORPHAN_GRACE = timedelta(hours=1)
_BATCH = 500
_IN_FLIGHT = (AIResponse.Status.PENDING, AIResponse.Status.RUNNING)


@dataclass
class CleanupResult:
    dry_run: bool
    # Rows deleted (or, on a dry run, that would be), by model label ("cv.AIResponse", "pdf.Document", ...).
    deleted: Counter = field(default_factory=Counter)
    orphan_files: list[str] = field(default_factory=list)

    @property
    def questionnaires(self) -> int:
        return self.deleted[CVQuestionnaire._meta.label]

    @property
    def responses(self) -> int:
        return self.deleted[AIResponse._meta.label]

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "questionnaires": self.questionnaires,
            "responses": self.responses,
            "deleted": dict(self.deleted),
            "orphan_files": len(self.orphan_files),
        }


def _file_fields() -> list[models.FileField]:
    return [f for model in apps.get_models() for f in model._meta.get_fields() if isinstance(f, models.FileField)]


def _managed_prefixes() -> set[str]:
    """The top folders the project's file fields write to: ours, and those of every app above us."""
    prefixes = {RESUME_PREFIX}
    for file_field in _file_fields():
        try:
            name = file_field.generate_filename(file_field.model(), "probe.pdf")
        except Exception:
            # An upload_to that needs a real row: its files are never treated as orphans.
            logger.warning("cleanup_old_data cannot tell where %s stores its files", file_field, exc_info=True)
            continue
        if "/" in name:
            prefixes.add(name.split("/", 1)[0])
    return prefixes


def _referenced_files() -> set[str]:
    names: set[str] = set()
    for file_field in _file_fields():
        names |= set(
            file_field.model._default_manager.exclude(**{file_field.name: ""}).values_list(file_field.name, flat=True)
        )
    return names


def _walk(prefix: str):
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from _walk(f"{prefix}/{directory}")


def _is_recent(name: str, now) -> bool:
    try:
        return default_storage.get_modified_time(name) > now - ORPHAN_GRACE
    except (NotImplementedError, OSError):
        return True  # cannot tell: keep it


def _batches(queryset):
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        batch = list(page.values_list("pk", flat=True)[:_BATCH])
        if not batch:
            return
        last = batch[-1]
        yield batch


def _delete(queryset) -> Counter:
    deleted: Counter = Counter()
    model = queryset.model
    for batch in _batches(queryset):
        with transaction.atomic():
            # Through the ORM (not raw SQL) so the post_delete receivers remove each row's file after commit.
            _, per_model = model.objects.filter(pk__in=batch).delete()
        deleted.update({label: count for label, count in per_model.items() if count})
    return deleted


def _count(queryset) -> Counter:
    """What `_delete` would remove, cascades included, without deleting anything."""
    counted: Counter = Counter()
    model = queryset.model
    for batch in _batches(queryset):
        collector = Collector(using=router.db_for_write(model), origin=None)
        collector.collect(list(model.objects.filter(pk__in=batch)))
        for related_model, instances in collector.data.items():
            counted[related_model._meta.label] += len(instances)
        for fast in collector.fast_deletes:
            counted[fast.model._meta.label] += fast.count()
    return +counted


def cleanup_old_data(*, days: int, dry_run: bool = False) -> CleanupResult:
    if days < 1:
        raise ValueError("days must be at least 1")
    now = timezone.now()
    cutoff = now - timedelta(days=days)
    result = CleanupResult(dry_run=dry_run)
    remove = _count if dry_run else _delete

    # Not used for the whole period: not changed (a new CV upload changes it) and no analysis since; a job in
    # flight keeps its questionnaire until it finished.
    recent_use = AIResponse.objects.filter(questionnaire=models.OuterRef("pk")).filter(
        models.Q(created_at__gte=cutoff) | models.Q(status__in=_IN_FLIGHT)
    )
    old_questionnaires = CVQuestionnaire.objects.filter(updated_at__lt=cutoff).exclude(models.Exists(recent_use))
    old_responses = (
        AIResponse.objects.filter(created_at__lt=cutoff)
        .exclude(status__in=_IN_FLIGHT)
        .exclude(questionnaire__in=old_questionnaires)
    )
    result.deleted.update(remove(old_questionnaires))
    result.deleted.update(remove(old_responses))

    referenced = _referenced_files()
    for prefix in sorted(_managed_prefixes()):
        for name in _walk(prefix):
            if name in referenced or _is_recent(name, now):
                continue
            result.orphan_files.append(name)
            if not dry_run:
                default_storage.delete(name)
    logger.info(
        "cleanup_old_data days=%s dry_run=%s deleted=%s orphan_files=%s",
        days, dry_run, dict(result.deleted), len(result.orphan_files),
    )  # fmt: skip
    return result
