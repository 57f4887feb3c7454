"""Money is exact: plan changes applied as asked however fast they follow each other, amounts in each
currency's own decimals, and invoice states that never move backwards."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.models import Invoice, Subscription
from core.tests.helpers import unix

pytestmark = pytest.mark.django_db

CHANGE_URL = "/core/subscription/change-plan/"


def _change(api_client, plan, billing="monthly"):
    return api_client.post(CHANGE_URL, {"plan_id": plan.pk, "billing": billing}, format="json")


def _stripe_price(fake_stripe, subscription_id: str) -> str:
    return fake_stripe.subscriptions[subscription_id]["items"]["data"][0]["price"]["id"]


class TestPlanChanges:
    def test_basic_pro_basic_pro_within_a_minute_ends_on_pro_at_stripe_and_in_the_profile(
        self, api_client, user, subscribed, plans, fake_stripe
    ):
        answers = [_change(api_client, plan) for plan in (plans.pro, plans.basic, plans.pro)]

        assert [(a.status_code, a.json()["plan_name"]) for a in answers] == [(200, "Pro"), (200, "Basic"), (200, "Pro")]
        assert _stripe_price(fake_stripe, subscribed["id"]) == plans.pro_monthly
        user.refresh_from_db()
        assert user.plan == plans.pro
        assert Subscription.objects.get().stripe_price_id == plans.pro_monthly
        assert api_client.get("/auth/user/").json()["plan"]["slug"] == "pro"
        sent = fake_stripe.requests_to("POST", f"/v1/subscriptions/{subscribed['id']}")
        asked = [plans.pro_monthly, plans.basic_monthly, plans.pro_monthly]
        assert [r.params["items"][0]["price"] for r in sent] == asked
        assert len({r.idempotency_key for r in sent}) == 3

    def test_changing_back_and_forth_between_intervals_is_applied_each_time(
        self, api_client, user, subscribed, plans, fake_stripe
    ):
        for billing in ("yearly", "monthly", "yearly"):
            assert _change(api_client, plans.basic, billing).status_code == 200

        assert _stripe_price(fake_stripe, subscribed["id"]) == plans.basic_yearly
        assert Subscription.objects.get().interval == "yearly"

    @pytest.mark.django_db(transaction=True)
    def test_double_click_is_one_change(self, user, subscribed, plans, fake_stripe):
        from rest_framework_simplejwt.tokens import RefreshToken

        token = str(RefreshToken.for_user(user).access_token)
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def click() -> None:
            client = APIClient(raise_request_exception=False)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            try:
                barrier.wait(timeout=10)
                statuses.append(_change(client, plans.pro).status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert sorted(statuses) == [200, 409]
        assert len(fake_stripe.requests_to("POST", f"/v1/subscriptions/{subscribed['id']}")) == 1
        assert _stripe_price(fake_stripe, subscribed["id"]) == plans.pro_monthly
        user.refresh_from_db()
        assert user.plan == plans.pro


class TestSubscriptionEventsInOneSecond:
    def test_quick_portal_changes_delivered_out_of_order_leave_the_plan_stripe_bills(
        self, user, customer, plans, fake_stripe, deliver
    ):
        """Basic -> Pro -> Basic -> Pro in the customer portal within one second: Stripe's events carry the same
        `created`, and arrive in any order."""
        stripe_subscription = fake_stripe.add_subscription(
            customer=customer["id"], price=plans.basic_monthly, metadata={"user_id": str(user.pk)}
        )
        item = stripe_subscription["items"]["data"][0]
        snapshots = {}
        for step, price in enumerate((plans.pro_monthly, plans.basic_monthly, plans.pro_monthly), start=1):
            item["price"] = dict(fake_stripe.prices[price])
            snapshots[step] = fake_stripe.event("customer.subscription.updated", stripe_subscription, created=unix(-1))

        for step in (1, 3, 2):
            deliver(snapshots[step])

        assert _stripe_price(fake_stripe, stripe_subscription["id"]) == plans.pro_monthly
        assert Subscription.objects.get().stripe_price_id == plans.pro_monthly
        user.refresh_from_db()
        assert user.plan == plans.pro


class TestCheckoutKeys:
    def test_switching_between_two_plans_in_checkout_always_gets_a_payable_session(
        self, api_client, plans, fake_stripe
    ):
        for plan in (plans.basic, plans.pro, plans.basic, plans.pro, plans.basic):
            response = api_client.post(
                "/core/payments/create-checkout-session/", {"plan_id": plan.pk, "billing": "monthly"}, format="json"
            )
            assert response.status_code == 200
            session_id = response.json()["url"].rsplit("/", 1)[-1]

            assert fake_stripe.checkout_sessions[session_id]["status"] == "open"
            assert fake_stripe.checkout_sessions[session_id]["metadata"]["plan_id"] == str(plan.pk)
            assert [s["id"] for s in fake_stripe.checkout_sessions.values() if s["status"] == "open"] == [session_id]


def _price_plan(fake_stripe, plan, *, unit_amount: int, currency: str):
    from core.billing.services import plans_sync_prices_from_stripe

    price = fake_stripe.add_price(product=plan.stripe_product_id, unit_amount=unit_amount, currency=currency)
    yearly = fake_stripe.add_price(
        product=plan.stripe_product_id, unit_amount=unit_amount * 10, currency=currency, interval="year"
    )
    plan.stripe_price_monthly, plan.stripe_price_yearly = price["id"], yearly["id"]
    plan.save(update_fields=["stripe_price_monthly", "stripe_price_yearly"])
    plans_sync_prices_from_stripe(plans=[plan])
    return price


class TestCurrencyDecimals:
    @pytest.mark.parametrize(
        ("currency", "minor", "shown"),
        [
            ("usd", 500, "5.00"),
            ("eur", 1999, "19.99"),
            ("jpy", 500, "500"),
            ("krw", 9900, "9900"),
            ("kwd", 1250, "1.250"),
            ("bhd", 1255, "1.255"),
            ("jod", 5000, "5.000"),
            ("omr", 3995, "3.995"),
            ("tnd", 29900, "29.900"),
        ],
    )
    def test_plan_prices_are_shown_with_the_currencys_decimals(
        self, anon_client, plans, fake_stripe, currency, minor, shown
    ):
        _price_plan(fake_stripe, plans.basic, unit_amount=minor, currency=currency)

        response = anon_client.get("/core/plans/")

        assert response.status_code == 200
        basic = next(p for p in response.json()["results"] if p["slug"] == "basic")
        assert basic["monthly_price"] == {"amount": shown, "currency": currency, "interval": "monthly"}

    @pytest.mark.parametrize(("currency", "minor", "shown"), [("kwd", 1255, "1.255"), ("jpy", 980, "980")])
    def test_invoices_are_shown_with_the_currencys_decimals(
        self, api_client, user, customer, plans, fake_stripe, deliver, currency, minor, shown
    ):
        price = _price_plan(fake_stripe, plans.basic, unit_amount=minor, currency=currency)
        stripe_subscription = fake_stripe.add_subscription(
            customer=customer["id"], price=price["id"], metadata={"user_id": str(user.pk)}
        )
        deliver(fake_stripe.event("customer.subscription.created", stripe_subscription))
        deliver(fake_stripe.event("invoice.paid", fake_stripe.add_invoice(subscription=stripe_subscription["id"])))

        [invoice] = api_client.get("/core/billing/invoices/").json()["results"]

        assert (invoice["amount"], invoice["amount_paid"], invoice["currency"]) == (shown, shown, currency)
        assert Invoice.objects.get().amount_due == Decimal(shown)

    def test_one_table_knows_every_three_and_zero_decimal_currency(self):
        from core.billing.currencies import EXPONENTS, amount_from_minor

        assert {c for c, e in EXPONENTS.items() if e == 3} == {"kwd", "bhd", "jod", "omr", "tnd"}
        assert amount_from_minor(1250, "KWD") == Decimal("1.250")
        assert amount_from_minor(500, "JPY") == Decimal("500")
        assert amount_from_minor(500, "usd") == Decimal("5.00")


class TestInvoiceOrdering:
    @pytest.mark.parametrize(
        ("first", "then", "kept"),
        [
            ("paid", "open", "paid"),
            ("paid", "draft", "paid"),
            ("void", "open", "void"),
            ("uncollectible", "open", "uncollectible"),
            ("open", "paid", "paid"),
            ("uncollectible", "paid", "paid"),
        ],
    )
    def test_same_second_events_never_move_an_invoice_backwards(
        self, api_client, plans, subscribed, fake_stripe, deliver, first, then, kept
    ):
        stripe_invoice = fake_stripe.add_invoice(subscription=subscribed["id"], status="open")
        same_second = unix(-2)

        deliver(fake_stripe.event("invoice.updated", dict(stripe_invoice, status=first), created=same_second))
        deliver(fake_stripe.event("invoice.updated", dict(stripe_invoice, status=then), created=same_second))

        assert Invoice.objects.get().status == kept
        [shown] = api_client.get("/core/billing/invoices/").json()["results"]
        assert shown["status"] == kept

    def test_a_paid_invoice_stays_paid_against_a_later_stamped_open_copy(self, plans, subscribed, fake_stripe, deliver):
        stripe_invoice = fake_stripe.add_invoice(subscription=subscribed["id"], status="paid")

        deliver(fake_stripe.event("invoice.paid", stripe_invoice, created=unix(-5)))
        deliver(fake_stripe.event("invoice.updated", dict(stripe_invoice, status="open"), created=unix(-4)))

        assert Invoice.objects.get().status == "paid"
