"""Celery entry points of the CV app: thin, the work and its rules live in cv.services, cv.letters.services and the job
runner (core.jobs), which sends these tasks by name."""

import logging

from celery import shared_task
from django.conf import settings

from cv import services
from cv.letters import services as letters

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def run_analysis(self, response_id: int) -> str:
    """Run an analysis. Delivered twice, it runs once; a transient LLM error comes back later (back-off)."""
    outcome = services.ai_response_run(response_id=response_id)
    logger.info("run_analysis id=%s outcome=%s", response_id, outcome.state)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(ignore_result=True)
def requeue_stuck_responses() -> dict:
    """Beat: jobs whose worker died run again (or fail after too many attempts); lost messages are re-sent."""
    return services.ai_responses_requeue_stuck()


@shared_task(ignore_result=True)
def cleanup_old_data(days: int | None = None) -> dict:
    """Beat (nightly): the same clean-up as `manage.py cleanup_old_data`."""
    from cv.cleanup import cleanup_old_data as run_cleanup

    return run_cleanup(days=days or settings.DATA_RETENTION_DAYS, dry_run=False).as_dict()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def write_cover_letter(self, letter_id: int) -> str:
    """Write a cover letter (queue `ai`). Delivered twice, it runs once; a transient LLM error comes back later."""
    outcome = letters.cover_letter_run(letter_id=letter_id)
    logger.info("write_cover_letter id=%s outcome=%s", letter_id, outcome.state)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(ignore_result=True)
def requeue_stuck_cover_letters() -> dict:
    """Beat: letters whose worker died run again (or fail after too many attempts); lost messages are re-sent."""
    return letters.cover_letters_requeue_stuck()
