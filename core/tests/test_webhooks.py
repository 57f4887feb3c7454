from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from core.billing import events
from core.billing.tasks import billing_grace_sweep, retry_failed_stripe_events
from core.models import Invoice, StripeEvent, Subscription
from core.tests.helpers import WEBHOOK_URL, post_webhook, process_stored_events, unix
from testing.stripe_signing import stripe_signature_header

pytestmark = pytest.mark.django_db


def _subscription_event(fake_stripe, stripe_subscription, event_type="customer.subscription.updated", **kwargs):
    return fake_stripe.event(event_type, stripe_subscription, **kwargs)


def _user_subscription(fake_stripe, user, customer, price, **kwargs):
    return fake_stripe.add_subscription(
        customer=customer["id"], price=price, metadata={"user_id": str(user.pk)}, **kwargs
    )


class TestSignature:
    def test_missing_signature_is_400_and_nothing_is_stored(self, client, fake_stripe):
        response = client.post(WEBHOOK_URL, data=b"{}", content_type="application/json")

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        assert StripeEvent.objects.count() == 0

    def test_wrong_secret_is_400(self, fake_stripe):
        event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})

        response = post_webhook(event, secret="whsec_not_ours")

        assert response.status_code == 400
        assert StripeEvent.objects.count() == 0

    def test_stale_signature_is_400(self, fake_stripe):
        event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})

        response = post_webhook(event, timestamp=unix(-10 * 60))

        assert response.status_code == 400
        assert StripeEvent.objects.count() == 0

    def test_signed_body_that_is_not_json_is_400(self, client, fake_stripe):
        from core.tests.helpers import WEBHOOK_SECRET

        body = b"{this is not json"
        response = client.post(
            WEBHOOK_URL,
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=stripe_signature_header(body, WEBHOOK_SECRET),
        )

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_payload"

    def test_without_webhook_secret_is_503(self, fake_stripe, settings):
        settings.STRIPE_WEBHOOK_SECRET = ""
        event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})

        response = post_webhook(event)

        assert response.status_code == 503
        assert StripeEvent.objects.count() == 0


class TestStoring:
    def test_event_is_stored_before_the_answer_and_enqueued_after_commit(
        self, fake_stripe, django_capture_on_commit_callbacks
    ):
        event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})

        with django_capture_on_commit_callbacks() as callbacks:
            response = post_webhook(event)

        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": False}
        stored = StripeEvent.objects.get()
        assert (stored.stripe_id, stored.type, stored.status, stored.payload) == (
            event["id"],
            "price.updated",
            StripeEvent.Status.RECEIVED,
            event,
        )
        assert len(callbacks) == 1

    def test_duplicate_delivery_is_a_no_op(self, fake_stripe, django_capture_on_commit_callbacks):
        event = fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})
        post_webhook(event)

        with django_capture_on_commit_callbacks() as callbacks:
            response = post_webhook(event)

        assert response.status_code == 200
        assert response.json()["duplicate"] is True
        assert StripeEvent.objects.count() == 1
        assert callbacks == []

    def test_unknown_event_type_is_stored_and_ignored(self, fake_stripe, deliver):
        deliver(fake_stripe.event("charge.refunded", {"id": "ch_1", "object": "charge"}))

        stored = StripeEvent.objects.get()
        assert stored.status == StripeEvent.Status.IGNORED
        assert stored.note == "event type not handled"

    def test_webhook_is_never_throttled(self, fake_stripe, settings):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/hour"},
        }

        statuses = [
            post_webhook(fake_stripe.event("price.updated", {"id": "price_x", "object": "price"})).status_code
            for _ in range(4)
        ]

        assert statuses == [200, 200, 200, 200]


class TestHandledTypes:
    def test_checkout_session_completed_subscribes_the_user(self, fake_stripe, plans, user, customer, deliver):
        session = fake_stripe.add_checkout_session(
            customer=customer["id"],
            price=plans.pro_monthly,
            client_reference_id=str(user.pk),
            metadata={"user_id": str(user.pk), "plan_id": str(plans.pro.pk)},
            subscription_metadata={"user_id": str(user.pk)},
        )
        stripe_subscription = fake_stripe.complete_checkout_session(session["id"])

        deliver(fake_stripe.event("checkout.session.completed", fake_stripe.checkout_sessions[session["id"]]))

        subscription = Subscription.objects.get()
        assert subscription.stripe_subscription_id == stripe_subscription["id"]
        assert (subscription.user, subscription.plan, subscription.status, subscription.interval) == (
            user,
            plans.pro,
            "active",
            "monthly",
        )
        user.refresh_from_db()
        assert user.plan == plans.pro
        assert fake_stripe.requests_to("GET", f"/v1/subscriptions/{stripe_subscription['id']}")
        assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED

    def test_checkout_session_for_unknown_user_is_ignored(self, fake_stripe, plans, deliver):
        event = fake_stripe.event(
            "checkout.session.completed",
            {"id": "cs_test_x", "object": "checkout.session", "mode": "subscription", "subscription": "sub_x",
             "client_reference_id": "999999", "customer": "cus_x", "metadata": {}},
        )  # fmt: skip

        deliver(event)

        assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED
        assert Subscription.objects.count() == 0

    @pytest.mark.parametrize("event_type", ["customer.subscription.created", "customer.subscription.updated"])
    def test_subscription_created_or_updated_is_synced(self, fake_stripe, plans, user, customer, deliver, event_type):
        stripe_subscription = _user_subscription(fake_stripe, user, customer, plans.basic_yearly)

        deliver(_subscription_event(fake_stripe, stripe_subscription, event_type))

        subscription = Subscription.objects.get()
        item = stripe_subscription["items"]["data"][0]
        assert subscription.plan == plans.basic
        assert subscription.interval == "yearly"
        assert subscription.current_period_start.timestamp() == item["current_period_start"]
        assert subscription.current_period_end.timestamp() == item["current_period_end"]
        user.refresh_from_db()
        assert user.plan == plans.basic

    def test_subscription_deleted_moves_the_user_to_free(self, fake_stripe, plans, user, subscribed, deliver):
        assert user.plan == plans.basic
        deleted = dict(subscribed, status="canceled", canceled_at=unix(), ended_at=unix())

        deliver(_subscription_event(fake_stripe, deleted, "customer.subscription.deleted"))

        user.refresh_from_db()
        assert user.plan is None
        assert Subscription.objects.get().status == "canceled"

    def test_subscription_of_a_stranger_is_ignored(self, fake_stripe, plans, deliver):
        stranger = fake_stripe.add_customer(email="nobody@example.com")
        stripe_subscription = fake_stripe.add_subscription(customer=stranger["id"], price=plans.basic_monthly)

        deliver(_subscription_event(fake_stripe, stripe_subscription))

        assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED
        assert Subscription.objects.count() == 0

    @pytest.mark.parametrize(
        ("event_type", "status", "paid"), [("invoice.paid", "paid", 500), ("invoice.payment_failed", "open", 0)]
    )
    def test_invoice_events_are_kept_as_payment_history(
        self, fake_stripe, plans, user, subscribed, deliver, event_type, status, paid
    ):
        stripe_invoice = fake_stripe.add_invoice(subscription=subscribed["id"], status=status)

        deliver(fake_stripe.event(event_type, stripe_invoice))

        invoice = Invoice.objects.get()
        assert (invoice.user, invoice.subscription.stripe_subscription_id) == (user, subscribed["id"])
        assert (invoice.status, invoice.amount_due, invoice.amount_paid, invoice.currency) == (
            status,
            Decimal("5.00"),
            Decimal(paid) / 100,
            "usd",
        )
        assert invoice.number == stripe_invoice["number"]

    def test_price_updated_changes_the_stored_plan_amount(self, fake_stripe, plans, deliver):
        price = dict(fake_stripe.prices[plans.pro_yearly], unit_amount=12900, currency="eur")

        deliver(fake_stripe.event("price.updated", price))

        plans.pro.refresh_from_db()
        assert (plans.pro.yearly_amount, plans.pro.monthly_amount, plans.pro.currency) == (
            Decimal("129.00"),
            Decimal("15.00"),
            "eur",
        )

    def test_price_deleted_removes_the_stored_amount(self, fake_stripe, plans, deliver):
        deliver(fake_stripe.event("price.deleted", fake_stripe.prices[plans.basic_monthly]))

        plans.basic.refresh_from_db()
        assert plans.basic.monthly_amount is None

    def test_price_of_no_plan_is_ignored(self, fake_stripe, plans, deliver):
        other = fake_stripe.add_price(product="prod_other", unit_amount=100)

        deliver(fake_stripe.event("price.created", other))

        assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED

    def test_product_updated_reads_the_plans_prices_again(self, fake_stripe, plans, deliver):
        fake_stripe.prices[plans.basic_monthly]["unit_amount"] = 700

        deliver(fake_stripe.event("product.updated", fake_stripe.products[plans.basic.stripe_product_id]))

        plans.basic.refresh_from_db()
        assert plans.basic.monthly_amount == Decimal("7.00")
        assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED


class TestOrdering:
    def test_older_event_does_not_roll_back_a_newer_state(self, fake_stripe, plans, user, customer, deliver):
        stripe_subscription = _user_subscription(fake_stripe, user, customer, plans.basic_monthly)
        newer = dict(stripe_subscription, cancel_at_period_end=True)
        older = dict(stripe_subscription, status="past_due")

        deliver(_subscription_event(fake_stripe, newer, created=unix(-10)))
        deliver(_subscription_event(fake_stripe, older, created=unix(-20)))

        subscription = Subscription.objects.get()
        assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
        assert [e.status for e in StripeEvent.objects.order_by("received_at")] == ["processed", "processed"]

    def test_update_of_a_row_without_a_stripe_time_is_applied(self, fake_stripe, plans, user, subscribed, deliver):
        # A row stored without the time of a Stripe state (added by hand, or before that column was set).
        Subscription.objects.update(last_event_at=None)

        deliver(_subscription_event(fake_stripe, dict(subscribed, cancel_at_period_end=True)))

        subscription = Subscription.objects.get()
        assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
        assert subscription.cancel_at_period_end is True
        assert subscription.last_event_at is not None

    def test_late_update_after_deletion_keeps_the_user_on_free(self, fake_stripe, plans, user, subscribed, deliver):
        deliver(_subscription_event(
            fake_stripe, dict(subscribed, status="canceled"), "customer.subscription.deleted", created=unix(-5)
        ))  # fmt: skip
        deliver(_subscription_event(fake_stripe, dict(subscribed, status="active"), created=unix(-30)))

        user.refresh_from_db()
        assert Subscription.objects.get().status == "canceled"
        assert user.plan is None

    def test_same_second_incomplete_after_active_does_not_downgrade(self, fake_stripe, plans, user, customer, deliver):
        stripe_subscription = _user_subscription(fake_stripe, user, customer, plans.basic_monthly)
        same_second = unix(-3)

        deliver(_subscription_event(fake_stripe, stripe_subscription, created=same_second))
        deliver(_subscription_event(
            fake_stripe, dict(stripe_subscription, status="incomplete"), "customer.subscription.created",
            created=same_second,
        ))  # fmt: skip

        user.refresh_from_db()
        assert Subscription.objects.get().status == "active"
        assert user.plan == plans.basic

    def test_older_invoice_state_does_not_overwrite_paid(self, fake_stripe, plans, subscribed, deliver):
        stripe_invoice = fake_stripe.add_invoice(subscription=subscribed["id"], status="paid")

        deliver(fake_stripe.event("invoice.paid", stripe_invoice, created=unix(-5)))
        deliver(fake_stripe.event("invoice.finalized", dict(stripe_invoice, status="open"), created=unix(-50)))

        assert Invoice.objects.get().status == "paid"


class TestPlanFollowsStatus:
    @pytest.mark.parametrize(
        ("status", "keeps_plan"),
        [
            ("active", True),
            ("trialing", True),
            ("past_due", True),
            ("canceled", False),
            ("unpaid", False),
            ("incomplete_expired", False),
            ("incomplete", False),
        ],
    )
    def test_plan_for_each_status(self, fake_stripe, plans, user, customer, deliver, status, keeps_plan):
        stripe_subscription = _user_subscription(fake_stripe, user, customer, plans.pro_monthly, status=status)

        deliver(_subscription_event(fake_stripe, stripe_subscription))

        user.refresh_from_db()
        assert user.plan == (plans.pro if keeps_plan else None)

    def test_past_due_keeps_the_plan_for_seven_days_then_free(self, fake_stripe, plans, user, subscribed, deliver):
        deliver(_subscription_event(fake_stripe, dict(subscribed, status="past_due")))
        user.refresh_from_db()
        assert user.plan == plans.basic

        with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
            assert billing_grace_sweep() == 0
        user.refresh_from_db()
        assert user.plan == plans.basic

        with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
            assert billing_grace_sweep() == 1
        user.refresh_from_db()
        assert user.plan is None

    def test_payment_after_past_due_restores_the_plan(self, fake_stripe, plans, user, subscribed, deliver):
        deliver(_subscription_event(fake_stripe, dict(subscribed, status="past_due"), created=unix(-60)))
        with time_machine.travel(timezone.now() + timedelta(days=8)):
            billing_grace_sweep()
            user.refresh_from_db()
            assert user.plan is None
            deliver(_subscription_event(fake_stripe, dict(subscribed, status="active")))

        user.refresh_from_db()
        assert user.plan == plans.basic
        assert Subscription.objects.get().past_due_since is None


class TestFailuresAndRetries:
    def test_failure_is_stored_then_retried_by_the_beat_task_and_applied(
        self, fake_stripe, plans, user, customer, celery_eager
    ):
        unknown_price = fake_stripe.add_price(product="prod_new", unit_amount=2500)
        stripe_subscription = _user_subscription(fake_stripe, user, customer, unknown_price["id"])
        post_webhook(_subscription_event(fake_stripe, stripe_subscription))

        process_stored_events()

        event = StripeEvent.objects.get()
        assert event.status == StripeEvent.Status.FAILED
        assert event.attempts == 1
        assert "UnknownStripePrice" in event.last_error
        assert timedelta(seconds=55) < event.next_attempt_at - timezone.now() <= timedelta(minutes=1)
        assert Subscription.objects.count() == 0

        # Not due yet: the beat task leaves it alone.
        assert retry_failed_stripe_events() == 0

        plans.pro.stripe_price_monthly = unknown_price["id"]
        plans.pro.save()
        with time_machine.travel(timezone.now() + timedelta(minutes=2)):
            assert retry_failed_stripe_events() == 1

        event.refresh_from_db()
        assert (event.status, event.attempts, event.last_error) == (StripeEvent.Status.PROCESSED, 2, "")
        user.refresh_from_db()
        assert user.plan == plans.pro

    def test_stripe_outage_during_processing_is_retried(self, fake_stripe, plans, user, customer, celery_eager):
        session = fake_stripe.add_checkout_session(
            customer=customer["id"],
            price=plans.basic_monthly,
            client_reference_id=str(user.pk),
            metadata={"user_id": str(user.pk)},
        )
        fake_stripe.complete_checkout_session(session["id"])
        fake_stripe.fail_next(500, path_prefix="/v1/subscriptions/")
        post_webhook(fake_stripe.event("checkout.session.completed", fake_stripe.checkout_sessions[session["id"]]))

        process_stored_events()
        event = StripeEvent.objects.get()
        assert event.status == StripeEvent.Status.FAILED
        assert "StripeTransientError" in event.last_error

        with time_machine.travel(timezone.now() + timedelta(minutes=2)):
            retry_failed_stripe_events()

        event.refresh_from_db()
        assert event.status == StripeEvent.Status.PROCESSED
        user.refresh_from_db()
        assert user.plan == plans.basic

    def test_back_off_doubles_and_stops_after_max_attempts(self, fake_stripe, plans, user, customer):
        stripe_subscription = _user_subscription(
            fake_stripe, user, customer, fake_stripe.add_price(product="p", unit_amount=1)["id"]
        )
        post_webhook(_subscription_event(fake_stripe, stripe_subscription))
        event = StripeEvent.objects.get()
        delays = []
        for _ in range(settings.STRIPE_EVENT_MAX_ATTEMPTS):
            with time_machine.travel(timezone.now(), tick=False):
                assert events.stripe_event_process(event_pk=event.pk) == StripeEvent.Status.FAILED
                event.refresh_from_db()
                delays.append(event.next_attempt_at - timezone.now() if event.next_attempt_at else None)

        assert delays[:4] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
        assert delays[-2] == timedelta(minutes=256)
        assert delays[-1] is None
        assert event.attempts == settings.STRIPE_EVENT_MAX_ATTEMPTS

    def test_back_off_is_capped_at_six_hours(self):
        assert events.backoff_delay(30) == timedelta(hours=6)

    def test_received_event_whose_enqueue_was_lost_is_picked_up(self, fake_stripe, plans, celery_eager):
        post_webhook(fake_stripe.event("price.updated", fake_stripe.prices[plans.basic_monthly]))

        assert retry_failed_stripe_events() == 0
        with time_machine.travel(timezone.now() + timedelta(minutes=3)):
            assert retry_failed_stripe_events() == 1

        assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED

    def test_processed_event_is_not_applied_again(self, fake_stripe, plans, deliver):
        deliver(fake_stripe.event("price.updated", fake_stripe.prices[plans.basic_monthly]))
        event = StripeEvent.objects.get()

        assert events.stripe_event_process(event_pk=event.pk) is None

        event.refresh_from_db()
        assert event.attempts == 1

    def test_admin_process_again_reapplies_a_processed_event(self, fake_stripe, plans, deliver):
        deliver(fake_stripe.event("price.updated", fake_stripe.prices[plans.basic_monthly]))
        plans.basic.monthly_amount = Decimal("1.00")
        plans.basic.save()
        event = StripeEvent.objects.get()

        events.stripe_events_reprocess(event_pks=[event.pk])
        process_stored_events()

        plans.basic.refresh_from_db()
        event.refresh_from_db()
        assert plans.basic.monthly_amount == Decimal("5.00")
        assert (event.status, event.attempts) == (StripeEvent.Status.PROCESSED, 2)


class TestStuckClaims:
    def _stuck(self, fake_stripe, plans, *, minutes_ago):
        post_webhook(fake_stripe.event("price.updated", fake_stripe.prices[plans.basic_monthly]))
        event = StripeEvent.objects.get()
        StripeEvent.objects.filter(pk=event.pk).update(
            status=StripeEvent.Status.PROCESSING,
            attempts=1,
            claimed_at=timezone.now() - timedelta(minutes=minutes_ago),
        )
        return event

    def test_claim_of_a_dead_worker_is_taken_again_after_the_lease(self, fake_stripe, plans):
        event = self._stuck(fake_stripe, plans, minutes_ago=6)

        assert events.stripe_events_due() == [event.pk]
        assert events.stripe_event_process(event_pk=event.pk) == StripeEvent.Status.PROCESSED

        event.refresh_from_db()
        assert event.attempts == 2

    def test_fresh_claim_is_left_to_its_worker_even_by_the_admin_action(self, fake_stripe, plans):
        event = self._stuck(fake_stripe, plans, minutes_ago=1)

        assert events.stripe_events_due() == []
        assert events.stripe_event_process(event_pk=event.pk) is None
        assert events.stripe_events_reprocess(event_pks=[event.pk]) == 0

        event.refresh_from_db()
        assert (event.status, event.attempts) == (StripeEvent.Status.PROCESSING, 1)
