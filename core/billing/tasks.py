"""Celery entry points of the core app (billing). Thin: load by id, call the service."""

import logging

from celery import shared_task

from core.billing import events, sync

logger = logging.getLogger(__name__)


@shared_task(name=events.PROCESS_TASK, acks_late=True)
def process_stripe_event(event_pk: int) -> str | None:
    """Apply one stored webhook event. Failures are recorded on the row and retried by the beat task, not
    by Celery, so the row stays the single truth about an event."""
    return events.stripe_event_process(event_pk=event_pk)


@shared_task(name="core.tasks.retry_failed_stripe_events")
def retry_failed_stripe_events() -> int:
    """Beat (every minute): enqueue failed events whose back-off has passed, and lost or stuck ones."""
    due = events.stripe_events_due()
    for event_pk in due:
        process_stripe_event.delay(event_pk)
    if due:
        logger.info("stripe events re-enqueued count=%s", len(due))
    return len(due)


@shared_task(name="core.tasks.billing_grace_sweep")
def billing_grace_sweep() -> int:
    """Beat (hourly): move users whose past-due grace period ended to Free (no Stripe event marks it)."""
    return sync.subscriptions_grace_expire()
