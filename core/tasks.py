"""Celery's autodiscovery imports `<app>.tasks`: the account mails (on the default queue) and billing's tasks,
which live in core.billing.tasks.

The mails are sent here rather than in the request, so a request does the same work whether or not an account
has the address it names, and its answer time tells nothing. The address travels as a keyword argument: the
task log line (cvimprover.celery) shows positional arguments only."""

import smtplib

from celery import Task, shared_task
from django.conf import settings

from core import jobs, services
from core.billing.tasks import billing_grace_sweep, process_stripe_event, retry_failed_stripe_events

__all__ = [
    "billing_grace_sweep",
    "process_stripe_event",
    "retry_failed_stripe_events",
    "send_email_confirmation",
    "send_password_reset_mail",
]

# A mail server that is down or refuses for a while.
_MAIL_SERVER_DOWN = (smtplib.SMTPException, OSError)


def _mail_again_later(task: Task, exc: Exception) -> None:
    """Send the mail again after ACCOUNT_MAIL_RETRY_BASE_SECONDS, doubling up to ACCOUNT_MAIL_RETRY_MAX_SECONDS,
    at most ACCOUNT_MAIL_MAX_RETRIES times; then the task fails with the mail server's error."""
    if task.request.retries >= settings.ACCOUNT_MAIL_MAX_RETRIES:
        raise exc
    countdown = jobs.backoff_seconds(
        task.request.retries + 1,
        base=settings.ACCOUNT_MAIL_RETRY_BASE_SECONDS,
        cap=settings.ACCOUNT_MAIL_RETRY_MAX_SECONDS,
        jitter=True,
    )
    raise task.retry(exc=exc, countdown=countdown)


@shared_task(bind=True, name=services.PASSWORD_RESET_MAIL_TASK, queue="default", max_retries=None)
def send_password_reset_mail(self: Task, *, email: str) -> None:
    try:
        services.password_reset_mail_send(email=email)
    except _MAIL_SERVER_DOWN as exc:
        _mail_again_later(self, exc)


@shared_task(bind=True, name=services.EMAIL_CONFIRMATION_TASK, queue="default", max_retries=None)
def send_email_confirmation(self: Task, *, email: str) -> None:
    try:
        services.email_confirmation_send(email=email)
    except _MAIL_SERVER_DOWN as exc:
        _mail_again_later(self, exc)
