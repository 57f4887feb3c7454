"""The one job runner: the attempt loop, the stuck sweep and the one way to enqueue of the analyses, cover
letters and PDF renders (see core.jobs). A kind declares a ``JobSpec``; everything else is here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from celery import current_app
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core import redis_safety
from core.jobs.leases import JobKind, claim, finish, resend_lost, run_claimed, sweep_expired

logger = logging.getLogger("core.jobs")

Result = TypeVar("Result")


class JobError(Exception):
    """A failure of a job's work that the runner finishes by its type: ``message`` is fit to show the
    person, ``code`` is stored with it."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class TransientError(JobError):
    """Worth trying again later: the job waits ``retry_after`` (or the back-off) and runs again, until the
    kind's last attempt, which fails it with this error ("We gave up after N attempts")."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentError(JobError):
    """Trying again cannot help: the job fails now. ``refund`` False means the person caused it and the
    kind's cost (a quota unit) stays spent."""

    def __init__(self, message: str, *, code: str, refund: bool = True) -> None:
        super().__init__(message, code=code)
        self.refund = refund


@dataclass(frozen=True)
class Failure:
    """A failure the runner writes itself: a crash in the work, or a job interrupted too many times."""

    code: str
    message: str


@dataclass(frozen=True)
class JobSpec:
    """One kind of job, declared: where its lease lives, its task, its limits, its work and its messages.

    ``work`` runs on the claimed row and returns the fields to store with ``succeeded``; it raises a
    ``TransientError`` or a ``PermanentError`` for the failures it knows, and anything else is a crash
    (``crashed``). ``stored`` runs after the success was written or refused (``done`` False: another run
    holds the job now). ``refund`` gives a failed job's cost back. ``claim_fields``, ``waiting_fields`` and
    ``done_fields`` are the kind's own columns written on a claim, a return to waiting and an end.
    """

    kind: JobKind
    name: str
    task: str
    work: Callable[[Any], dict[str, Any]]
    max_attempts: Callable[[], int]
    retry_delay: Callable[[int, float | None], float]
    resend_after: Callable[[], timedelta]
    crashed: Failure
    interrupted: Failure
    # Options of each message (a queue instead of the task's route, time limits), read when it is sent.
    send_options: Callable[[], dict[str, Any]] = dict
    fetch: Callable[[], models.QuerySet] | None = None
    claim_fields: Callable[[], dict[str, Any]] = dict
    waiting_fields: Callable[[], dict[str, Any]] = dict
    done_fields: Callable[[], dict[str, Any]] = dict
    stored: Callable[[Any, dict[str, Any], bool], None] | None = None
    refund: Callable[[Any], None] | None = None
    waiting: str = "pending"
    succeeded: str = "succeeded"
    failed: str = "failed"


@dataclass(frozen=True)
class Outcome:
    """What the task must do next: nothing, or run the job again after ``retry_in`` seconds."""

    state: str
    retry_in: float | None = None
    job: Any = None


Undo = list[Callable[[], object]]


def start(create: Callable[[Undo], Result]) -> Result:
    """Run ``create`` (which writes the request's rows, queues its jobs with ``enqueue`` and adds to the
    list it is given how to take each write back) in a transaction. If the broker cannot take a job, the
    writes are taken back and RedisUnavailable (503) reaches the caller: nothing is left half-saved.
    (Inside a transaction of the caller's, the send happens at that commit and the sweep re-sends it.)"""
    undo: Undo = []
    try:
        with transaction.atomic():
            return create(undo)
    except redis_safety.RedisUnavailable:
        with transaction.atomic():
            for step in undo:
                step()
        raise


def enqueue(spec: JobSpec, pk: Any, *, robust: bool = False) -> None:
    """Send job ``pk`` to its task once the transaction commits (a worker must see the row), through
    ``redis_safety.send_task``. Not robust (a request): a broker that is down raises RedisUnavailable at the
    commit, for ``start`` to undo. Robust (a sweep, an admin action): the failure is logged and the sweep
    sends the job again later."""
    transaction.on_commit(lambda: send(spec, pk), robust=robust)


def send(spec: JobSpec, pk: Any) -> None:
    """Send job ``pk`` to its task now (``enqueue`` waits for the commit); RedisUnavailable if the broker
    cannot take it."""
    # The task by its registered name: the kind's services never import its tasks module.
    redis_safety.send_task(current_app.tasks[spec.task], (pk,), **spec.send_options())


def run(spec: JobSpec, pk: Any) -> Outcome:
    """Run one attempt of job ``pk``. Safe to call twice: only one caller can hold the job. Not ours to run:
    ``busy`` (another run holds it: look again when its lease ends) or ``skipped``."""
    kind = spec.kind
    fetch = spec.fetch() if spec.fetch else None
    job = claim(kind, pk=pk, claimable=Q(**{kind.status_field: spec.waiting}), fetch=fetch, **spec.claim_fields())
    if job is None:
        current = kind.objects.filter(pk=pk).only(kind.status_field, kind.lease_field).first()
        end = kind.lease_end(current) if current is not None else None
        if end is not None and getattr(current, kind.status_field) == kind.running:
            return Outcome("busy", retry_in=max((end - timezone.now()).total_seconds(), 0) + 1)
        return Outcome("skipped")
    return run_claimed(job, partial(_attempt, spec), crashed=partial(_crashed, spec))


def _attempt(spec: JobSpec, job: Any) -> Outcome:
    attempts, max_attempts = getattr(job, spec.kind.attempts_field), spec.max_attempts()
    if attempts > max_attempts:
        return _fail(spec, job, spec.interrupted.message, code=spec.interrupted.code)
    try:
        fields = spec.work(job)
    except TransientError as exc:
        if attempts >= max_attempts:
            return _fail(spec, job, f"{exc.message} We gave up after {attempts} attempts.", code=exc.code)
        delay = spec.retry_delay(attempts, exc.retry_after)
        _back_to_waiting(spec, job)
        logger.info("%s retry id=%s code=%s attempt=%s in=%.1fs", spec.name, job.pk, exc.code, attempts, delay)
        return Outcome("retry", retry_in=delay, job=job)
    except PermanentError as exc:
        return _fail(spec, job, exc.message, code=exc.code, refund=exc.refund)
    # One transaction: a reader sees the success together with what ``stored`` writes beside it (an
    # analysis's versions), never the one without the other.
    with transaction.atomic():
        done = finish(
            spec.kind,
            job,
            **{spec.kind.status_field: spec.succeeded},
            **spec.done_fields(),
            **fields,
            error="",
            error_code="",
            finished_at=timezone.now(),
        )
        if spec.stored is not None:
            spec.stored(job, fields, done)
    logger.info("%s %s id=%s", spec.name, "succeeded" if done else "superseded", job.pk)
    return Outcome("succeeded" if done else "superseded", job=job)


def _crashed(spec: JobSpec, job: Any, exc: Exception) -> Outcome:
    # Our fault, not the person's: the cost goes back, and the job is not run (nor paid for) again.
    return _fail(spec, job, spec.crashed.message, code=spec.crashed.code)


def _back_to_waiting(spec: JobSpec, job: Any) -> bool:
    fields = {spec.kind.status_field: spec.waiting, "enqueued_at": timezone.now(), **spec.waiting_fields()}
    return finish(spec.kind, job, **fields)


@transaction.atomic
def _fail(spec: JobSpec, job: Any, message: str, *, code: str, refund: bool = True) -> Outcome:
    """Mark the job failed (only while this run holds it) and give its cost back unless ``refund`` is False."""
    failed = {spec.kind.status_field: spec.failed, "error": message, "error_code": code, **spec.done_fields()}
    if finish(spec.kind, job, **failed, finished_at=timezone.now()):
        if refund and spec.refund is not None:
            spec.refund(job)
        attempts = getattr(job, spec.kind.attempts_field)
        logger.info("%s failed id=%s code=%s attempts=%s refunded=%s", spec.name, job.pk, code, attempts, refund)
    return Outcome("failed", job=job)


@dataclass(frozen=True)
class Swept:
    requeued: list[Any]
    failed: int
    resent: list[Any]

    def counts(self) -> dict[str, int]:
        return {"requeued": len(self.requeued), "failed": self.failed, "resent": len(self.resent)}


def sweep(spec: JobSpec) -> Swept:
    """Beat: queue again the jobs whose worker died, fail those interrupted ``max_attempts`` times, and send
    again the waiting jobs last queued longer than ``resend_after`` ago (their message may be lost)."""
    requeued: list[Any] = []
    resent: list[Any] = []

    def requeue(job: Any) -> bool:
        if not _back_to_waiting(spec, job):
            return False
        enqueue(spec, job.pk, robust=True)
        requeued.append(job.pk)
        return True

    def give_up(job: Any) -> None:
        _fail(spec, job, spec.interrupted.message, code=spec.interrupted.code)

    def send(pk: Any) -> None:
        enqueue(spec, pk, robust=True)
        resent.append(pk)

    with transaction.atomic():
        swept = sweep_expired(spec.kind, max_attempts=spec.max_attempts(), requeue=requeue, give_up=give_up)
        waiting = Q(**{spec.kind.status_field: spec.waiting})
        resend_lost(spec.kind, waiting=waiting, after=spec.resend_after(), send=send)
    result = Swept(requeued=requeued, failed=swept.failed, resent=resent)
    if requeued or swept.failed or resent:
        logger.info("stuck %s: requeued=%s failed=%s resent=%s", spec.name, len(requeued), swept.failed, len(resent))
    return result
