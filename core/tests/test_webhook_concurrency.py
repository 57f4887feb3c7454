"""Concurrency: copies of one event arriving at the same moment, and workers racing for one event.

These run against real PostgreSQL transactions (threads with their own connections, a live HTTP server)
and a real Celery worker subprocess."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.utils import timezone

from core.billing.events import stripe_event_process, stripe_event_record
from core.models import StripeEvent, Subscription
from core.tests.helpers import WEBHOOK_SECRET, WEBHOOK_URL
from testing.stripe_signing import signed_event_body

COPIES = 5
# Copies of one delivery posted at the same moment over HTTP (Stripe retries, a proxy replaying).
DELIVERIES = 50


def _wait_for(predicate, *, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _event_processed(stripe_id: str) -> bool:
    return StripeEvent.objects.filter(stripe_id=stripe_id, status=StripeEvent.Status.PROCESSED).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_fifty_times_at_once_is_stored_once_and_applied_once(
    live_server, celery_worker, fake_stripe, plans, user, customer
):
    stripe_subscription = fake_stripe.add_subscription(
        customer=customer["id"], price=plans.basic_monthly, metadata={"user_id": str(user.pk)}
    )
    event = fake_stripe.event("customer.subscription.created", stripe_subscription)
    body, header = signed_event_body(event, WEBHOOK_SECRET)
    start = threading.Barrier(DELIVERIES)

    def post_copy(_):
        start.wait(timeout=10)
        # The test server's listen queue is short: a connection it resets is delivered again, as Stripe
        # retries a delivery that did not get an answer.
        for _attempt in range(10):
            try:
                return requests.post(
                    live_server.url + WEBHOOK_URL,
                    data=body,
                    headers={"Content-Type": "application/json", "Stripe-Signature": header},
                    timeout=20,
                )
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("a delivery got no answer after 10 tries")

    with ThreadPoolExecutor(DELIVERIES) as pool:
        responses = list(pool.map(post_copy, range(DELIVERIES)))

    assert [r.status_code for r in responses] == [200] * DELIVERIES
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * (DELIVERIES - 1)
    assert StripeEvent.objects.filter(stripe_id=event["id"]).count() == 1
    # Processed by the real worker, once.
    assert _wait_for(lambda: _event_processed(event["id"])), "the worker did not process the event in 30 s"
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.attempts == 1
    assert Subscription.objects.filter(stripe_subscription_id=stripe_subscription["id"]).count() == 1
    user.refresh_from_db()
    assert user.plan == plans.basic


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_event_apply_it_once(fake_stripe, plans, user, customer):
    stripe_subscription = fake_stripe.add_subscription(
        customer=customer["id"], price=plans.pro_monthly, metadata={"user_id": str(user.pk)}
    )
    event = fake_stripe.event("customer.subscription.created", stripe_subscription)
    # Stored directly, not through the webhook: nothing is enqueued, so only these threads race for it.
    event_pk = StripeEvent.objects.create(
        stripe_id=event["id"], type=event["type"], stripe_created=timezone.now(), payload=event
    ).pk
    start = threading.Barrier(COPIES)

    def process(_):
        try:
            start.wait(timeout=10)
            return stripe_event_process(event_pk=event_pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(COPIES) as pool:
        results = list(pool.map(process, range(COPIES)))

    assert sorted(results, key=str) == [None] * (COPIES - 1) + ["processed"]
    stored = StripeEvent.objects.get(pk=event_pk)
    assert (stored.status, stored.attempts) == (StripeEvent.Status.PROCESSED, 1)
    assert Subscription.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_copies_recorded_in_parallel_transactions_make_one_row(fake_stripe, monkeypatch):
    # Only the insert is under test; a worker left running by another test must not process the row while
    # the test database is being flushed.
    monkeypatch.setattr("core.billing.events._enqueue", lambda event_pk: None)
    event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})
    start = threading.Barrier(COPIES)

    def record(_):
        try:
            start.wait(timeout=10)
            return stripe_event_record(event=event)[1]
        finally:
            connection.close()

    with ThreadPoolExecutor(COPIES) as pool:
        created = list(pool.map(record, range(COPIES)))

    assert sorted(created) == [False] * (COPIES - 1) + [True]
    assert StripeEvent.objects.filter(stripe_id=event["id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_leave_exactly_one_payable_session(user, customer, plans, fake_stripe, monkeypatch):
    """Two tabs starting checkout at the same moment: the per-user lock means the later one expires the
    earlier, never both each other."""
    import threading

    from django.db import connection

    from core.billing import gateway
    from core.billing.services import checkout_session_create

    real_list = gateway.checkout_sessions_open

    def slow_list(**kwargs):
        # Widen the window between creating a session and expiring the others, where the race would be.
        time.sleep(0.5)
        return real_list(**kwargs)

    monkeypatch.setattr(gateway, "checkout_sessions_open", slow_list)

    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def start(plan_id: int) -> None:
        barrier.wait()
        try:
            checkout_session_create(user=user, plan_id=plan_id, billing="monthly")
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(plan.pk,)) for plan in (plans.basic, plans.pro)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    statuses = sorted(s["status"] for s in fake_stripe.checkout_sessions.values())
    assert statuses.count("open") == 1, statuses


def _lock_waiters(cursor, *, like: str) -> int:
    """Backends of this database waiting for a lock while running a statement that mentions `like`."""
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query LIKE %s",
        [f"%{like}%"],
    )
    return cursor.fetchone()[0]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_account_deleted_while_the_worker_applies_its_webhook_is_204_and_leaves_nothing(
    celery_worker, fake_stripe, plans, user, customer, subscribed
):
    """The deadlock of deleting right after paying, made certain instead of likely: the worker has locked the
    user row to apply a subscription event and is held (a table lock on plans) before it writes the
    subscription row, while the deletion starts. Deleting the subscription rows first and the user last, as
    a plain cascade does, deadlocks against it; taking the user row first waits for the worker instead."""
    from django.db import connections
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from core.models import Invoice, User
    from core.tests.helpers import post_webhook

    token = str(RefreshToken.for_user(user).access_token)
    event = fake_stripe.event("customer.subscription.updated", dict(subscribed, cancel_at_period_end=True))
    holder = connections.create_connection("default")
    deletion: dict = {}

    def delete_account() -> None:
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            deletion["status"] = client.delete("/auth/user/").status_code
        finally:
            connection.close()

    deleter = threading.Thread(target=delete_account)
    try:
        with holder.cursor() as held, connection.cursor() as watch:
            held.execute("BEGIN")
            held.execute("LOCK TABLE core_plan IN ACCESS EXCLUSIVE MODE")
            assert post_webhook(event).status_code == 200
            assert _wait_for(lambda: _lock_waiters(watch, like="core_plan") == 1, timeout=20), "worker not held"
            deleter.start()
            assert _wait_for(lambda: _lock_waiters(watch, like="core_user") == 1, timeout=20), "deletion not waiting"
            held.execute("COMMIT")
    finally:
        holder.close()
    deleter.join(timeout=30)

    assert deletion == {"status": 204}
    assert _wait_for(
        lambda: StripeEvent.objects.get(stripe_id=event["id"]).status != StripeEvent.Status.PROCESSING, timeout=20
    )
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert (stored.status, stored.attempts, stored.last_error) == (StripeEvent.Status.PROCESSED, 1, "")
    assert not User.objects.filter(pk=user.pk).exists()
    assert Subscription.objects.count() == 0 and Invoice.objects.count() == 0
    assert customer["id"] in fake_stripe.deleted_customers


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_accounts_deleted_while_their_payment_webhooks_arrive_never_fail(celery_worker, fake_stripe, plans):
    """Unforced races, bounded: each user pays, the success page syncs the subscription, and the account is
    deleted while the checkout's webhooks are being applied by the worker."""
    from django.utils import timezone
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from core.billing.sync import subscription_sync_from_stripe
    from core.models import Invoice, User
    from core.tests.factories import UserFactory
    from core.tests.helpers import post_webhook

    rounds = 6
    statuses: list[int] = []
    event_ids: list[str] = []
    for _ in range(rounds):
        user = UserFactory.create()
        stripe_customer = fake_stripe.add_customer(email=user.email, metadata={"user_id": str(user.pk)})
        user.stripe_customer_id = stripe_customer["id"]
        user.save(update_fields=["stripe_customer_id"])
        paid = fake_stripe.add_subscription(
            customer=stripe_customer["id"], price=plans.pro_monthly, metadata={"user_id": str(user.pk)}
        )
        subscription_sync_from_stripe(stripe_subscription=paid, event_created=timezone.now())
        invoice = fake_stripe.add_invoice(subscription=paid["id"])
        events = [
            fake_stripe.event("customer.subscription.created", paid),
            fake_stripe.event("customer.subscription.updated", dict(paid, cancel_at_period_end=False)),
            fake_stripe.event("invoice.paid", invoice),
            fake_stripe.event("invoice.payment_succeeded", invoice),
        ]
        token = str(RefreshToken.for_user(user).access_token)
        for event in events:
            assert post_webhook(event).status_code == 200
        event_ids += [e["id"] for e in events]
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        statuses.append(client.delete("/auth/user/").status_code)

    assert statuses == [204] * rounds
    settled = (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED)
    assert _wait_for(
        lambda: StripeEvent.objects.filter(stripe_id__in=event_ids, status__in=settled).count() == len(event_ids),
        timeout=60,
    ), list(StripeEvent.objects.exclude(status__in=settled).values_list("type", "status", "last_error"))
    assert User.objects.filter(stripe_customer_id__startswith="cus_").count() == 0
    assert Subscription.objects.count() == 0 and Invoice.objects.count() == 0
