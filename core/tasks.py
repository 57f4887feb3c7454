"""Celery's autodiscovery imports `<app>.tasks`; the core app's tasks are billing's, in core.billing.tasks."""

from core.billing.tasks import billing_grace_sweep, process_stripe_event, retry_failed_stripe_events

__all__ = ["billing_grace_sweep", "process_stripe_event", "retry_failed_stripe_events"]
