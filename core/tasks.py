"""Celery's autodiscovery imports `<app>.tasks`: the account mails (on the default queue) and billing's tasks,
which live in core.billing.tasks.

The mails are sent here rather than in the request, so a request does the same work whether or not an account
has the address it names, and its answer time tells nothing. The address travels as a keyword argument: the
task log line (cvimprover.celery) shows positional arguments only."""

import smtplib

from celery import shared_task

from core import services
from core.billing.tasks import billing_grace_sweep, process_stripe_event, retry_failed_stripe_events

__all__ = [
    "billing_grace_sweep",
    "process_stripe_event",
    "retry_failed_stripe_events",
    "send_email_confirmation",
    "send_password_reset_mail",
]


# A mail server that is down or refuses for a while: tried again after 1, 2, 4 ... minutes.
_MAIL_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError),
    "retry_backoff": 60,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(name=services.PASSWORD_RESET_MAIL_TASK, queue="default", **_MAIL_RETRY)
def send_password_reset_mail(*, email: str) -> None:
    services.password_reset_mail_send(email=email)


@shared_task(name=services.EMAIL_CONFIRMATION_TASK, queue="default", **_MAIL_RETRY)
def send_email_confirmation(*, email: str) -> None:
    services.email_confirmation_send(email=email)
