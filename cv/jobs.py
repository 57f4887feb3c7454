"""The cv app's job kinds on the shared runner (core.jobs): analyses and cover letters, both on the ``ai``
queue, with one lease (``JOB_LEASE_SECONDS``), one attempt limit (``OPENAI_MAX_ATTEMPTS``), one back-off and
one quota rule (a failure the person did not cause gives the ``ai_responses`` unit back). A running job
whose worker stops renewing its lease (killed, out of memory) is taken over by the next claim or the sweep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import jobs
from core.quotas import quota_release
from cv import progress
from cv.models import AIResponse, CoverLetter, Stage

logger = logging.getLogger(__name__)

ANALYSIS_JOB = jobs.JobKind(
    model=AIResponse,
    running=AIResponse.Status.RUNNING,
    lease_seconds=lambda: settings.JOB_LEASE_SECONDS,
    expires_field="lease_expires_at",
)
LETTER_JOB = jobs.JobKind(
    model=CoverLetter,
    running=CoverLetter.Status.RUNNING,
    lease_seconds=lambda: settings.JOB_LEASE_SECONDS,
    expires_field="lease_expires_at",
)


def set_stage(kind: jobs.JobKind, job: models.Model, stage: str) -> bool:
    """Say what a running job is doing now (shown to the person), only while this run still holds it."""
    return bool(
        kind.objects.filter(pk=job.pk, status=kind.running, lease_token=getattr(job, kind.token_field)).update(
            stage=stage
        )
    )


def retry_delay(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential back-off with jitter: about base x 2^(attempt-1), randomised so retries spread out; at
    least what the model's server asked for (``retry_after``), within the maximum."""
    delay = jobs.backoff_seconds(
        attempt, base=settings.CV_RETRY_BASE_SECONDS, cap=settings.CV_RETRY_MAX_SECONDS, jitter=True
    )
    if retry_after:
        delay = max(delay, min(retry_after, settings.CV_RETRY_MAX_SECONDS))
    return delay


def _give_back_unit(job: Any) -> None:
    if job.quota_day is not None:
        quota_release(user=job.user_id, scope="ai_responses", day=job.quota_day)


def withdraw(spec: jobs.JobSpec, job: Any) -> None:
    """Undo a request whose job could not be queued (a step for ``core.jobs.start``): the row goes, and so
    does the quota unit it took."""
    deleted, _ = spec.kind.objects.filter(pk=job.pk, status=spec.waiting).delete()
    if deleted:
        _give_back_unit(job)
    logger.info("%s withdrawn id=%s (broker unavailable)", spec.name, job.pk)


def _send_options() -> dict[str, Any]:
    # CV_ANALYSIS_QUEUE overrides the route (cv.tasks.* -> ai), e.g. to give a test its own worker.
    queue = settings.CV_ANALYSIS_QUEUE
    return {"queue": queue} if queue else {}


def llm_job(
    kind: jobs.JobKind,
    *,
    name: str,
    task: str,
    work: Callable[[Any], dict[str, Any]],
    fetch: Callable[[], QuerySet],
    crashed: str,
    interrupted: str,
    stored: Callable[[Any, dict[str, Any], bool], None] | None = None,
) -> jobs.JobSpec:
    """A job of the ``ai`` queue: what analyses and letters share, with their own work and messages."""
    return jobs.JobSpec(
        kind=kind,
        name=name,
        task=task,
        work=progress.reported(kind, work),  # the share written shows on the row; 1.0 once succeeded
        fetch=fetch,
        crashed=jobs.Failure("internal_error", crashed),
        interrupted=jobs.Failure("interrupted", interrupted),
        send_options=_send_options,
        max_attempts=lambda: settings.OPENAI_MAX_ATTEMPTS,
        retry_delay=lambda attempt, retry_after: retry_delay(attempt=attempt, retry_after=retry_after),
        resend_after=lambda: timedelta(seconds=settings.CV_PENDING_REQUEUE_AFTER_SECONDS),
        claim_fields=lambda: {
            "started_at": Coalesce("started_at", Value(timezone.now())),
            "stage": Stage.READING_JOB,
            "progress": None,
        },
        waiting_fields=lambda: {"stage": Stage.QUEUED, "progress": None},
        done_fields=lambda: {"stage": Stage.DONE},
        refund=_give_back_unit,
        stored=stored,
    )
