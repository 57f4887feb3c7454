"""The cv app's job kinds on the shared lease module: a running job whose worker stops renewing its lease
(killed, out of memory) is taken over by the next claim or the sweep."""

from django.conf import settings

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
