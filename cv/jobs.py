"""The cv app's job kinds on the shared lease module: a running job whose worker stops renewing its lease
(killed, out of memory) is taken over by the next claim or the sweep."""

from django.conf import settings
from django.db import models

from core import jobs
from cv.models import AIResponse, CoverLetter

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
