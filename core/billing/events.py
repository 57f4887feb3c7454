"""Stripe webhook events: store once, process in a task, retry failures with back-off.

Handled types:
- `checkout.session.completed` (subscription mode): the session's subscription is read from Stripe and
  synced for the user named in `client_reference_id`/metadata;
- `customer.subscription.*` (created, updated, deleted, paused, resumed, ...): the snapshot is synced, or
  Stripe's current state when the event has the same second as the state already stored;
- `invoice.*` (paid, payment_failed, finalized, voided, ...): the invoice is upserted in the history;
- `price.*`: the amount and currency are copied onto the plans that use the price;
- `product.*`: the prices of the plans of that product are read again from Stripe.
Anything else is stored and marked `ignored`.

Processing (`stripe_event_process`): a worker claims the row (`received`/`failed` -> `processing`, under a
`select_for_update(skip_locked)` lock, attempts + 1, a fresh lease token), then applies the event and marks
it `processed` in one transaction that re-checks the token, so an event is applied at most once even with
two workers. A failure rolls the effect back and stores `failed`, the error and `next_attempt_at` (1, 2, 4,
... minutes, capped at 6 hours; after STRIPE_EVENT_MAX_ATTEMPTS it waits for an admin). The beat task re-enqueues
failed events that are due, events whose enqueue was lost (`received` for more than
STRIPE_EVENT_RECEIVED_GRACE_SECONDS) and claims
older than STRIPE_EVENT_LEASE_SECONDS (a worker died mid-way). Claims, leases and back-off: core.jobs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core import jobs
from core.billing import gateway, services, sync
from core.models import Plan, StripeEvent, Subscription, User
from core.text import clean_text

logger = logging.getLogger(__name__)

# The task that applies a stored event (core.billing.tasks; the name queued messages and the beat carry).
PROCESS_TASK = "core.tasks.process_stripe_event"

# Claimed under a row lock that skips a row another worker holds while it applies the event.
EVENT_JOB = jobs.JobKind(
    model=StripeEvent,
    running=StripeEvent.Status.PROCESSING,
    lease_seconds=lambda: settings.STRIPE_EVENT_LEASE_SECONDS,
    claimed_field="claimed_at",
    skip_locked=True,
)
RETRY_BATCH = 100

Outcome = tuple[str, str]  # (StripeEvent.Status, note)

# One statement, so copies of an event arriving at the same moment cannot both insert (no read-then-write).
_INSERT_EVENT_SQL = """
    INSERT INTO core_stripeevent
        (stripe_id, type, api_version, livemode, stripe_created, payload, status, attempts, last_error, note,
         received_at)
    VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, 0, '', '', %s)
    ON CONFLICT (stripe_id) DO NOTHING
    RETURNING id
"""


def backoff_delay(attempts: int) -> timedelta:
    return timedelta(
        seconds=jobs.backoff_seconds(
            attempts, base=settings.STRIPE_EVENT_RETRY_BASE_SECONDS, cap=settings.STRIPE_EVENT_RETRY_MAX_SECONDS
        )
    )


def _enqueue(event_pk: int) -> None:
    # By the task's name: the task (core.billing.tasks) imports this module to apply the event.
    current_app.tasks[PROCESS_TASK].delay(event_pk)


@transaction.atomic
def stripe_event_record(*, event: dict) -> tuple[int | None, bool]:
    """Store a verified event unless its id is already stored; enqueue processing after the commit.

    A single INSERT ... ON CONFLICT DO NOTHING, so copies arriving at the same moment cannot both insert.
    Returns (row id, created); the id is None for a duplicate."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_EVENT_SQL,
            [
                event["id"],
                event["type"][:100],
                str(event.get("api_version") or "")[:64],
                bool(event.get("livemode")),
                datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC),
                json.dumps(event),
                StripeEvent.Status.RECEIVED,
                timezone.now(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        logger.info("stripe event duplicate ignored id=%s type=%s", event["id"], event["type"])
        return None, False
    event_pk = row[0]
    # robust: a broker outage must not turn the stored event into a 500; the beat task enqueues it later.
    transaction.on_commit(lambda: _enqueue(event_pk), robust=True)
    logger.info("stripe event stored id=%s type=%s pk=%s", event["id"], event["type"], event_pk)
    return event_pk, True


def _claim(event_pk: int) -> StripeEvent | None:
    return jobs.claim(
        EVENT_JOB, pk=event_pk, claimable=Q(status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED])
    )


def stripe_event_process(*, event_pk: int) -> str | None:
    """Apply one stored event. Returns its new status, or None when it was not ours to process (already
    done, or another worker holds it)."""
    claimed = _claim(event_pk)
    if claimed is None:
        return None
    return jobs.run_claimed(claimed, _apply, crashed=_failed)


def _apply(claimed: StripeEvent) -> str | None:
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=claimed.pk)
        if not jobs.holds(EVENT_JOB, claimed, current=event):
            return None  # our claim expired and another worker took the event
        status, note = _dispatch(event)
        jobs.finish(
            EVENT_JOB,
            claimed,
            status=status,
            note=clean_text(note)[:255],
            last_error="",
            next_attempt_at=None,
            processed_at=timezone.now(),
        )
    logger.info("stripe event %s pk=%s type=%s note=%s", status, claimed.pk, event.type, note)
    return status


def _failed(claimed: StripeEvent, exc: Exception) -> str:
    """A failure (the effect was rolled back with its transaction) is kept and retried with back-off. The
    error's text may quote the payload or Stripe's answer, so it is cleaned before it is stored: a write
    that failed here would leave the event held, taken back and failed again every minute."""
    attempt = claimed.attempts
    logger.warning("stripe event failed pk=%s attempt=%s", claimed.pk, attempt)
    retry_at = timezone.now() + backoff_delay(attempt) if attempt < settings.STRIPE_EVENT_MAX_ATTEMPTS else None
    jobs.finish(
        EVENT_JOB,
        claimed,
        status=StripeEvent.Status.FAILED,
        last_error=clean_text(f"{type(exc).__name__}: {exc}")[:2000],
        next_attempt_at=retry_at,
    )
    return StripeEvent.Status.FAILED


def stripe_events_due() -> list[int]:
    """Events the beat task should enqueue again: failed and due, lost after storing, or stuck in a claim."""
    now = timezone.now()
    due = (
        Q(status=StripeEvent.Status.FAILED, next_attempt_at__lte=now)
        | Q(
            status=StripeEvent.Status.RECEIVED,
            received_at__lt=now - timedelta(seconds=settings.STRIPE_EVENT_RECEIVED_GRACE_SECONDS),
        )
        | EVENT_JOB.expired(now)
    )
    return list(StripeEvent.objects.filter(due).order_by("received_at").values_list("pk", flat=True)[:RETRY_BATCH])


def stripe_events_reprocess(*, event_pks: list[int]) -> int:
    """Admin "process again": make the events due now and enqueue them (after the commit). An event a worker
    is processing right now is left to that worker."""
    now = timezone.now()
    with transaction.atomic():
        events = StripeEvent.objects.filter(pk__in=event_pks).exclude(EVENT_JOB.held(now))
        pks = list(events.values_list("pk", flat=True))
        StripeEvent.objects.filter(pk__in=pks).update(
            status=StripeEvent.Status.FAILED, next_attempt_at=now, claimed_at=None, lease_token=None
        )
        for pk in pks:
            transaction.on_commit(partial(_enqueue, pk), robust=True)
    return len(pks)


def _created(event: StripeEvent) -> datetime:
    return event.stripe_created


def _on_checkout_completed(event: StripeEvent, obj: dict) -> Outcome:
    if obj.get("mode") != "subscription" or not obj.get("subscription"):
        return StripeEvent.Status.IGNORED, "not a subscription checkout"
    user_id = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("user_id")
    user = User.objects.filter(pk=int(str(user_id))).first() if str(user_id or "").isdigit() else None
    customer_id = sync.stripe_ref_id(obj.get("customer"))
    if user is None or (user.stripe_customer_id and customer_id and user.stripe_customer_id != customer_id):
        return StripeEvent.Status.IGNORED, "no matching user"
    stripe_subscription = obj["subscription"]
    if not isinstance(stripe_subscription, dict):
        stripe_subscription = gateway.subscription_retrieve(subscription_id=stripe_subscription)
    subscription = sync.subscription_sync_from_stripe(
        stripe_subscription=stripe_subscription, event_created=_created(event), user=user
    )
    if subscription is None:
        return StripeEvent.Status.IGNORED, "no matching user"
    return StripeEvent.Status.PROCESSED, f"subscription {subscription.stripe_subscription_id} {subscription.status}"


def _same_second_as_stored(subscription_id: str, created: datetime) -> bool:
    last = Subscription.objects.filter(stripe_subscription_id=subscription_id).values_list("last_event_at", flat=True)
    last_event_at = last.first()
    return last_event_at is not None and int(last_event_at.timestamp()) == int(created.timestamp())


def _on_subscription(event: StripeEvent, obj: dict) -> Outcome:
    snapshot, created = obj, _created(event)
    if gateway.is_configured() and _same_second_as_stored(obj["id"], created):
        # Stripe stamps events in whole seconds: two states of one subscription from the same second (quick
        # plan changes in the portal) cannot be ordered by their events, so Stripe's current state is applied.
        snapshot, created = gateway.subscription_retrieve(subscription_id=obj["id"]), timezone.now()
    subscription = sync.subscription_sync_from_stripe(stripe_subscription=snapshot, event_created=created)
    if subscription is None:
        return StripeEvent.Status.IGNORED, "no matching user"
    return StripeEvent.Status.PROCESSED, f"subscription {subscription.stripe_subscription_id} {subscription.status}"


def _on_invoice(event: StripeEvent, obj: dict) -> Outcome:
    invoice = sync.invoice_sync_from_stripe(stripe_invoice=obj, event_created=_created(event))
    if invoice is None:
        return StripeEvent.Status.IGNORED, "no matching user"
    return StripeEvent.Status.PROCESSED, f"invoice {invoice.stripe_invoice_id} {invoice.status}"


def _on_price(event: StripeEvent, obj: dict) -> Outcome:
    lines = sync.plan_price_sync_from_stripe(stripe_price=obj, deleted=event.type == "price.deleted")
    if not lines:
        return StripeEvent.Status.IGNORED, "price not used by any plan"
    return StripeEvent.Status.PROCESSED, "; ".join(lines)


def _on_product(event: StripeEvent, obj: dict) -> Outcome:
    plans = list(Plan.objects.filter(stripe_product_id=obj["id"]))
    if not plans:
        return StripeEvent.Status.IGNORED, "product not used by any plan"
    return StripeEvent.Status.PROCESSED, "; ".join(services.plans_sync_prices_from_stripe(plans=plans))


_HANDLERS: dict[str, Callable[[StripeEvent, dict], Outcome]] = {
    "checkout.session.completed": _on_checkout_completed,
}
_PREFIX_HANDLERS: dict[str, Callable[[StripeEvent, dict], Outcome]] = {
    "customer.subscription.": _on_subscription,
    "invoice.": _on_invoice,
    "price.": _on_price,
    "product.": _on_product,
}


def _dispatch(event: StripeEvent) -> Outcome:
    handler = _HANDLERS.get(event.type)
    if handler is None:
        handler = next((h for prefix, h in _PREFIX_HANDLERS.items() if event.type.startswith(prefix)), None)
    if handler is None:
        return StripeEvent.Status.IGNORED, "event type not handled"
    obj = (event.payload.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not obj.get("id"):
        return StripeEvent.Status.IGNORED, "event has no object"
    return handler(event, obj)
