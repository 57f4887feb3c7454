"""The lease primitives of a job row: claim, run so that any error finishes it, finish while holding it,
sweep the rows whose worker died, send again the lost, back off. See core.jobs."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import metrics, request_context

logger = logging.getLogger("core.jobs")

# 2**64 times any base is already longer than any cap; bounding the exponent keeps floats finite.
_MAX_EXPONENT = 64

Job = TypeVar("Job", bound=models.Model)
Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class JobKind:
    """Where a model keeps its job state.

    The lease is stored either as its end (``expires_field``, cv) or its start (``claimed_field``: the
    lease ends ``lease_seconds()`` later, pdf and billing); exactly one of the two is set. A held row
    without a lease time has no live holder and counts as expired.
    """

    model: type[models.Model]
    running: str
    lease_seconds: Callable[[], float]
    expires_field: str | None = None
    claimed_field: str | None = None
    status_field: str = "status"
    token_field: str = "lease_token"
    attempts_field: str = "attempts"
    # Skip a row another transaction has locked instead of waiting for it (the other run is busy with it).
    skip_locked: bool = False

    def __post_init__(self) -> None:
        if (self.expires_field is None) == (self.claimed_field is None):
            raise ValueError("a JobKind stores its lease as exactly one of expires_field or claimed_field")

    @property
    def lease_field(self) -> str:
        """The field holding the lease: its end (``expires_field``) or its start (``claimed_field``)."""
        return cast(str, self.expires_field or self.claimed_field)  # __post_init__ requires exactly one

    @property
    def objects(self) -> models.Manager:
        return self.model._default_manager

    def _cutoff(self, now: datetime) -> datetime:
        """The value of the lease field below which a lease has passed."""
        return now if self.expires_field else now - timedelta(seconds=self.lease_seconds())

    def expired(self, now: datetime | None = None) -> Q:
        """Rows held by a run whose lease has passed."""
        field, cutoff = self.lease_field, self._cutoff(now or timezone.now())
        return Q(**{self.status_field: self.running}) & (
            Q(**{f"{field}__lt": cutoff}) | Q(**{f"{field}__isnull": True})
        )

    def held(self, now: datetime | None = None) -> Q:
        """Rows held by a run whose lease is still good."""
        cutoff = self._cutoff(now or timezone.now())
        return Q(**{self.status_field: self.running, f"{self.lease_field}__gte": cutoff})

    def lease_end(self, job: models.Model) -> datetime | None:
        """When the lease of a loaded row ends (None: no lease time, so no live holder)."""
        if self.expires_field:
            return getattr(job, self.expires_field)
        start = getattr(job, self.lease_field)
        return start + timedelta(seconds=self.lease_seconds()) if start else None

    def lease_passed(self, job: models.Model, now: datetime | None = None) -> bool:
        """The same test as ``expired`` on a loaded row."""
        if getattr(job, self.status_field) != self.running:
            return False
        end = self.lease_end(job)
        return end is None or end < (now or timezone.now())

    def _lease_fields(self, now: datetime) -> dict[str, Any]:
        if self.expires_field:
            return {self.expires_field: now + timedelta(seconds=self.lease_seconds())}
        return {self.lease_field: now}


def claim(kind: JobKind, *, pk: Any, claimable: Q, fetch: models.QuerySet | None = None, **fields: Any) -> Any | None:
    """Take job ``pk`` if it is ``claimable`` or its lease has passed, and return it (loaded through
    ``fetch`` when given); None when it is not ours to run.

    One conditional UPDATE sets the running status, a fresh token, the lease and attempts + 1 (plus
    ``fields``), so of two workers claiming at once only one wins.
    """
    now = timezone.now()
    token = uuid.uuid4()
    condition = Q(pk=pk) & (claimable | kind.expired(now))
    values = {
        kind.status_field: kind.running,
        kind.token_field: token,
        kind.attempts_field: F(kind.attempts_field) + 1,
        **kind._lease_fields(now),
        **fields,
    }
    with transaction.atomic():
        if kind.skip_locked:
            free = kind.objects.select_for_update(skip_locked=True).filter(condition)
            locked = list(free.values_list("pk", flat=True))
            updated = kind.objects.filter(pk__in=locked).update(**values)
        else:
            updated = kind.objects.filter(condition).update(**values)
    if not updated:
        return None
    return (fetch if fetch is not None else kind.objects.all()).get(pk=pk, **{kind.token_field: token})


def run_claimed(
    job: Job,
    work: Callable[[Job], Outcome],
    *,
    crashed: Callable[[Job, Exception], Outcome],
    passes: tuple[type[Exception], ...] = (),
) -> Outcome:
    """Run ``work`` on a job this run has just claimed, so that no error leaves it held.

    An exception ``work`` lets escape (other than ``passes``, which the caller turns into a retry itself) is
    logged and handed to ``crashed``, which finishes the job as failed (through ``finish``, so only the
    holder can) and says what to return. Left running, the row would wait for the sweep, which runs the
    work again, a new model call each time, for a fault that is ours and fails the same way. If ``crashed``
    cannot write either (the database is gone), its error propagates and the sweep takes the job back once
    the lease has passed.
    """
    try:
        with request_context.running(job):  # what the model calls of this run cost is charged to it
            return work(job)
    except passes:
        raise
    except Exception as exc:
        logger.exception("job crashed: %s id=%s", type(job).__name__, job.pk)
        return crashed(job, exc)


def holds(kind: JobKind, job: models.Model, *, current: models.Model) -> bool:
    """Whether the run that claimed ``job`` still holds it, judged on ``current`` (the row as it is now)."""
    return getattr(current, kind.status_field) == kind.running and getattr(current, kind.token_field) == getattr(
        job, kind.token_field
    )


def finish(kind: JobKind, job: models.Model, **fields: Any) -> bool:
    """Write ``fields`` (a new status among them) and release the lease, only if this run still holds the
    job. Returns whether it did."""
    release: dict[str, Any] = {kind.token_field: None}
    if kind.expires_field:
        release[kind.expires_field] = None
    finished = bool(
        kind.objects.filter(
            pk=job.pk, **{kind.status_field: kind.running, kind.token_field: getattr(job, kind.token_field)}
        ).update(**release, **fields)
    )
    if finished:
        metrics.job_finished(job, fields.get(kind.status_field), fields)
    return finished


def renew(kind: JobKind, job: models.Model) -> bool:
    """Start a new lease for a run that still holds the job (before a long step, so the sweep leaves it)."""
    return bool(
        kind.objects.filter(
            pk=job.pk, **{kind.status_field: kind.running, kind.token_field: getattr(job, kind.token_field)}
        ).update(**kind._lease_fields(timezone.now()))
    )


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    failed: int


def sweep_expired(
    kind: JobKind,
    *,
    max_attempts: int,
    requeue: Callable[[Any], bool],
    give_up: Callable[[Any], None],
) -> SweepResult:
    """For each row whose worker died: ``give_up`` once it has had ``max_attempts``, else ``requeue`` it
    (which returns whether it did). Rows are locked, skipping those another sweep has; both callbacks run
    in this transaction, so what they send on commit goes out once it is written."""
    requeued = failed = 0
    with transaction.atomic():
        for job in kind.objects.select_for_update(skip_locked=True).filter(kind.expired()):
            if getattr(job, kind.attempts_field) >= max_attempts:
                give_up(job)
                failed += 1
            elif requeue(job):
                requeued += 1
    return SweepResult(requeued=requeued, failed=failed)


def resend_lost(
    kind: JobKind, *, waiting: Q, after: timedelta, send: Callable[[Any], None], enqueued_field: str = "enqueued_at"
) -> int:
    """Send again the ``waiting`` jobs last queued longer than ``after`` ago (or never): their message may
    have been lost (broker restart, failed send). Marks them queued now, so it is one extra message per
    period; a duplicate is harmless, the claim decides. Returns how many."""
    now = timezone.now()
    stale = Q(**{f"{enqueued_field}__lt": now - after}) | Q(**{f"{enqueued_field}__isnull": True})
    with transaction.atomic():
        lost = list(
            kind.objects.select_for_update(skip_locked=True).filter(waiting, stale).values_list("pk", flat=True)
        )
        kind.objects.filter(pk__in=lost).update(**{enqueued_field: now})
        for pk in lost:
            send(pk)
    return len(lost)


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: bool = False) -> float:
    """Exponential back-off: base x 2^(attempt-1) seconds, at most ``cap``. With ``jitter`` a random point
    in the upper half of that, so retries of many jobs spread out."""
    ceiling = min(base * 2 ** min(max(attempt - 1, 0), _MAX_EXPONENT), cap)
    if not jitter:
        return ceiling
    return ceiling / 2 + random.uniform(0, ceiling / 2)
