from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.billing.services import customer_delete_for_user_deletion
from core.models import Invoice, Subscription, User

pytestmark = pytest.mark.django_db

CHECKOUT_URL = "/core/payments/create-checkout-session/"
VERIFY_URL = "/core/payments/verify-session/"


def _start_checkout(api_client, plan, billing="monthly"):
    return api_client.post(CHECKOUT_URL, {"plan_id": plan.pk, "billing": billing}, format="json")


def _paid_session_for(api_client, fake_stripe, plan, billing="monthly"):
    url = _start_checkout(api_client, plan, billing).json()["url"]
    session_id = url.rsplit("/", 1)[-1]
    fake_stripe.complete_checkout_session(session_id)
    return session_id


class TestCheckout:
    def test_checkout_sends_price_mode_customer_metadata_and_idempotency_key(
        self, api_client, user, plans, fake_stripe, settings
    ):
        response = _start_checkout(api_client, plans.pro, "yearly")

        assert response.status_code == 200
        session_id = response.json()["url"].rsplit("/", 1)[-1]
        assert session_id in fake_stripe.checkout_sessions
        user.refresh_from_db()
        assert user.stripe_customer_id in fake_stripe.customers
        [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
        ids = {"user_id": str(user.pk), "plan_id": str(plans.pro.pk), "billing": "yearly"}
        assert sent.params["mode"] == "subscription"
        assert sent.params["line_items"] == [{"price": plans.pro_yearly, "quantity": "1"}]
        assert sent.params["customer"] == user.stripe_customer_id
        assert sent.params["client_reference_id"] == str(user.pk)
        assert sent.params["metadata"] == ids
        assert sent.params["subscription_data"] == {"metadata": ids}
        assert sent.params["success_url"] == (
            f"{settings.FRONTEND_URL}/payment/success?session_id={{CHECKOUT_SESSION_ID}}"
        )
        assert sent.idempotency_key and sent.idempotency_key.startswith(f"checkout:{user.pk}:")

    def test_existing_customer_is_reused(self, api_client, user, customer, plans, fake_stripe):
        _start_checkout(api_client, plans.basic)

        assert fake_stripe.requests_to("POST", "/v1/customers") == []
        [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
        assert sent.params["customer"] == customer["id"]

    def test_double_click_creates_one_customer_and_one_session(self, api_client, user, plans, fake_stripe):
        first = _start_checkout(api_client, plans.basic).json()["url"]
        second = _start_checkout(api_client, plans.basic).json()["url"]

        assert first == second
        assert len(fake_stripe.customers) == 1
        assert len(fake_stripe.checkout_sessions) == 1

    def test_a_newer_checkout_expires_the_older_one_so_only_one_can_be_paid(self, api_client, plans, fake_stripe):
        basic_tab = _start_checkout(api_client, plans.basic).json()["url"].rsplit("/", 1)[-1]
        pro_tab = _start_checkout(api_client, plans.pro, "yearly").json()["url"].rsplit("/", 1)[-1]

        assert fake_stripe.checkout_sessions[basic_tab]["status"] == "expired"
        assert fake_stripe.checkout_sessions[pro_tab]["status"] == "open"
        assert [r.path for r in fake_stripe.requests_to("POST", f"/v1/checkout/sessions/{basic_tab}/expire")]

    def test_back_in_the_older_tab_gets_a_fresh_payable_session(self, api_client, plans, fake_stripe):
        first = _start_checkout(api_client, plans.basic).json()["url"].rsplit("/", 1)[-1]
        _start_checkout(api_client, plans.pro)
        again = _start_checkout(api_client, plans.basic)

        assert again.status_code == 200
        again_id = again.json()["url"].rsplit("/", 1)[-1]
        assert again_id != first
        open_sessions = [s["id"] for s in fake_stripe.checkout_sessions.values() if s["status"] == "open"]
        assert open_sessions == [again_id]

    def test_plan_without_that_price_is_refused(self, api_client, plans, fake_stripe):
        plans.basic.stripe_price_yearly = ""
        plans.basic.save()

        response = _start_checkout(api_client, plans.basic, "yearly")

        assert response.status_code == 400
        assert response.json()["code"] == "price_unavailable"
        assert fake_stripe.requests == []

    def test_free_plan_cannot_be_bought(self, api_client, plans, fake_stripe):
        response = _start_checkout(api_client, plans.free)

        assert response.status_code == 400
        assert response.json()["code"] == "price_unavailable"

    def test_invalid_input_is_a_field_error(self, api_client, plans, fake_stripe):
        response = api_client.post(CHECKOUT_URL, {"plan_id": "x", "billing": "weekly"}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"plan_id", "billing"}

    def test_already_subscribed_user_is_sent_to_change_plan(self, api_client, subscribed, plans, fake_stripe):
        response = _start_checkout(api_client, plans.pro)

        assert response.status_code == 409
        assert response.json()["code"] == "already_subscribed"

    def test_card_error_is_shown_with_stripes_message(self, api_client, customer, plans, fake_stripe):
        fake_stripe.fail_next(402, error_type="card_error", code="card_declined", message="Your card was declined.")

        response = _start_checkout(api_client, plans.basic)

        assert response.status_code == 402
        assert response.json() == {"detail": "Your card was declined.", "code": "card_error"}

    def test_stripe_outage_is_503_not_500(self, api_client, customer, plans, fake_stripe):
        fake_stripe.fail_next(500)

        response = _start_checkout(api_client, plans.basic)

        assert response.status_code == 503
        assert response.json()["code"] == "payment_provider_unavailable"

    def test_anonymous_is_401(self, anon_client, plans):
        assert _start_checkout(anon_client, plans.basic).status_code == 401


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", CHECKOUT_URL),
        ("get", VERIFY_URL),
        ("post", "/core/billing/portal/"),
        ("post", "/core/subscription/change-plan/"),
        ("post", "/core/subscription/cancel/"),
        ("post", "/core/subscription/resume/"),
    ],
)
def test_payment_endpoints_answer_503_without_stripe_key(api_client, plans, settings, method, url):
    settings.STRIPE_SECRET_KEY = ""

    if method == "get":
        response = api_client.get(url, {"session_id": "cs_test_x"})
    else:
        response = api_client.post(url, {"plan_id": plans.pro.pk, "billing": "monthly"}, format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": "Payments are not configured.", "code": "payments_not_configured"}


class TestVerifySession:
    def test_own_paid_session_syncs_and_returns_the_subscription(self, api_client, user, plans, fake_stripe):
        session_id = _paid_session_for(api_client, fake_stripe, plans.pro)

        response = api_client.get(VERIFY_URL, {"session_id": session_id})

        assert response.status_code == 200
        body = response.json()
        subscription = Subscription.objects.get()
        assert body["success"] is True
        assert body["subscription"]["id"] == subscription.pk
        assert body["subscription"]["plan_name"] == "Pro"
        assert body["subscription"]["status"] == "active"
        assert body["subscription"]["current_period_end"]
        user.refresh_from_db()
        assert user.plan == plans.pro

    def test_unpaid_session_is_not_a_success(self, api_client, plans, fake_stripe):
        url = _start_checkout(api_client, plans.basic).json()["url"]

        response = api_client.get(VERIFY_URL, {"session_id": url.rsplit("/", 1)[-1]})

        assert response.status_code == 200
        assert response.json() == {"success": False, "subscription": None}

    def test_another_users_session_is_refused(self, api_client, other_client, other_user, plans, fake_stripe):
        session_id = _paid_session_for(api_client, fake_stripe, plans.pro)

        response = other_client.get(VERIFY_URL, {"session_id": session_id})

        assert response.status_code == 404
        assert Subscription.objects.count() == 0
        other_user.refresh_from_db()
        assert other_user.plan is None

    def test_session_with_copied_reference_but_other_customer_is_refused(
        self, api_client, user, customer, plans, fake_stripe
    ):
        stranger = fake_stripe.add_customer(email="x@example.com")
        session = fake_stripe.add_checkout_session(
            customer=stranger["id"], price=plans.basic_monthly, client_reference_id=str(user.pk)
        )
        fake_stripe.complete_checkout_session(session["id"])

        assert api_client.get(VERIFY_URL, {"session_id": session["id"]}).status_code == 404

    def test_unknown_session_is_404(self, api_client, fake_stripe):
        assert api_client.get(VERIFY_URL, {"session_id": "cs_test_nothing"}).status_code == 404

    def test_malformed_session_id_is_400(self, api_client, fake_stripe):
        response = api_client.get(VERIFY_URL, {"session_id": "../v1/customers"})

        assert response.status_code == 400
        assert fake_stripe.requests == []


class TestPortal:
    def test_portal_url_for_the_users_customer(self, api_client, customer, fake_stripe, settings):
        response = api_client.post("/core/billing/portal/")

        assert response.status_code == 200
        assert response.json()["url"].startswith("https://billing.stripe.test/")
        [sent] = fake_stripe.requests_to("POST", "/v1/billing_portal/sessions")
        assert sent.params == {"customer": customer["id"], "return_url": f"{settings.FRONTEND_URL}/billing"}

    def test_user_without_billing_account_gets_400(self, api_client, fake_stripe):
        response = api_client.post("/core/billing/portal/")

        assert response.status_code == 400
        assert response.json()["code"] == "no_billing_account"


class TestSubscription:
    def test_current_subscription(self, api_client, subscribed, plans):
        response = api_client.get("/core/subscription/")

        assert response.status_code == 200
        body = response.json()
        assert body["plan"] == {"id": plans.basic.pk, "slug": "basic", "name": "Basic"}
        assert (body["status"], body["interval"], body["cancel_at_period_end"]) == ("active", "monthly", False)

    def test_no_subscription_is_404(self, api_client, fake_stripe):
        response = api_client.get("/core/subscription/")

        assert response.status_code == 404
        assert response.json()["code"] == "no_subscription"

    def test_change_plan_is_prorated_and_applied(self, api_client, user, subscribed, plans, fake_stripe):
        response = api_client.post(
            "/core/subscription/change-plan/", {"plan_id": plans.pro.pk, "billing": "yearly"}, format="json"
        )

        assert response.status_code == 200
        assert (response.json()["plan_name"], response.json()["interval"]) == ("Pro", "yearly")
        [sent] = fake_stripe.requests_to("POST", f"/v1/subscriptions/{subscribed['id']}")
        assert sent.params["proration_behavior"] == "create_prorations"
        assert sent.params["items"] == [{"id": subscribed["items"]["data"][0]["id"], "price": plans.pro_yearly}]
        user.refresh_from_db()
        assert user.plan == plans.pro

    def test_change_to_the_same_plan_is_409(self, api_client, subscribed, plans, fake_stripe):
        response = api_client.post(
            "/core/subscription/change-plan/", {"plan_id": plans.basic.pk, "billing": "monthly"}, format="json"
        )

        assert response.status_code == 409
        assert response.json()["code"] == "already_on_plan"

    def test_change_without_subscription_is_404(self, api_client, plans):
        response = api_client.post("/core/subscription/change-plan/", {"plan_id": plans.pro.pk}, format="json")

        assert response.status_code == 404

    def test_cancel_keeps_the_plan_until_period_end_and_resume_undoes_it(
        self, api_client, user, subscribed, plans, fake_stripe
    ):
        cancelled = api_client.post("/core/subscription/cancel/")

        assert cancelled.status_code == 200
        assert cancelled.json()["cancel_at_period_end"] is True
        assert fake_stripe.subscriptions[subscribed["id"]]["cancel_at_period_end"] is True
        user.refresh_from_db()
        assert user.plan == plans.basic

        resumed = api_client.post("/core/subscription/resume/")

        assert resumed.status_code == 200
        assert resumed.json()["cancel_at_period_end"] is False
        assert fake_stripe.subscriptions[subscribed["id"]]["cancel_at_period_end"] is False

    def test_resume_of_a_subscription_not_cancelling_is_409(self, api_client, subscribed, fake_stripe):
        response = api_client.post("/core/subscription/resume/")

        assert response.status_code == 409
        assert response.json()["code"] == "not_cancelling"

    def test_profile_shows_the_subscription_summary_without_calling_stripe(self, api_client, subscribed, fake_stripe):
        fake_stripe.requests.clear()

        response = api_client.get("/auth/user/")

        assert response.status_code == 200
        summary = response.json()["subscription"]
        assert (summary["status"], summary["interval"], summary["cancel_at_period_end"]) == (
            "active",
            "monthly",
            False,
        )
        assert summary["current_period_end"]
        assert fake_stripe.requests == []

    def test_account_deletion_deletes_the_stripe_customer_and_so_its_subscription(
        self, api_client, user, customer, subscribed, fake_stripe
    ):
        response = api_client.delete("/auth/user/")

        assert response.status_code == 204
        assert [r.path for r in fake_stripe.requests_to("DELETE", "/v1/customers")] == [
            f"/v1/customers/{customer['id']}"
        ]
        assert customer["id"] not in fake_stripe.customers
        assert fake_stripe.subscriptions[subscribed["id"]]["status"] == "canceled"
        assert not User.objects.filter(pk=user.pk).exists()
        assert Subscription.objects.count() == 0

    def test_checkout_link_opened_before_deleting_the_account_can_no_longer_be_paid(
        self, api_client, user, plans, fake_stripe
    ):
        url = _start_checkout(api_client, plans.pro).json()["url"]
        session_id = url.rsplit("/", 1)[-1]

        assert api_client.delete("/auth/user/").status_code == 204

        assert fake_stripe.checkout_sessions[session_id]["status"] == "expired"
        with pytest.raises(ValueError, match="cannot be paid"):
            fake_stripe.complete_checkout_session(session_id)
        assert not User.objects.filter(pk=user.pk).exists()

    def test_account_deletion_of_a_customer_stripe_already_forgot_succeeds(self, api_client, user, fake_stripe):
        user.stripe_customer_id = "cus_gone"
        user.save(update_fields=["stripe_customer_id"])

        assert api_client.delete("/auth/user/").status_code == 204
        assert not User.objects.filter(pk=user.pk).exists()

    def test_account_is_kept_while_stripe_cannot_delete_its_customer(self, api_client, user, subscribed, fake_stripe):
        fake_stripe.fail_next(500, method="DELETE")

        response = api_client.delete("/auth/user/")

        assert response.status_code == 503
        assert User.objects.filter(pk=user.pk).exists()
        assert fake_stripe.subscriptions[subscribed["id"]]["status"] == "active"

    def test_account_without_a_stripe_customer_calls_no_stripe(self, user, fake_stripe):
        customer_delete_for_user_deletion(user=user)

        assert fake_stripe.requests == []

    def test_account_deletion_without_stripe_keys_does_not_fail(self, user, subscribed, settings):
        settings.STRIPE_SECRET_KEY = ""

        customer_delete_for_user_deletion(user=user)


class TestInvoices:
    def _invoice(self, user, n, *, days_ago, amount="5.00", currency="usd"):
        return Invoice.objects.create(
            user=user,
            stripe_invoice_id=f"in_{user.pk}_{n}",
            number=f"N-{n}",
            status="paid",
            currency=currency,
            amount_due=Decimal(amount),
            amount_paid=Decimal(amount),
            stripe_created=timezone.now() - timedelta(days=days_ago),
            hosted_invoice_url=f"https://invoice.stripe.test/{n}",
        )

    def test_invoices_newest_first_in_main_units_only_mine(self, api_client, user, other_user):
        self._invoice(user, 1, days_ago=60, amount="5.00")
        self._invoice(user, 2, days_ago=30, amount="15.00")
        self._invoice(other_user, 3, days_ago=1)

        response = api_client.get("/core/billing/invoices/")

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 2
        assert [i["number"] for i in body["results"]] == ["N-2", "N-1"]
        first = body["results"][0]
        assert set(first) == {
            "id", "number", "amount", "amount_paid", "currency", "status", "period_start", "period_end",
            "created", "hosted_invoice_url",
        }  # fmt: skip
        assert (first["amount"], first["currency"]) == ("15.00", "usd")

    def test_invoices_are_paginated(self, api_client, user):
        for n in range(25):
            self._invoice(user, n, days_ago=n)

        first = api_client.get("/core/billing/invoices/").json()
        second = api_client.get(first["next"]).json()

        assert (first["count"], len(first["results"]), len(second["results"])) == (25, 20, 5)

    @pytest.mark.parametrize("count", [1, 15])
    def test_invoice_list_query_count_does_not_grow(self, api_client, user, django_assert_num_queries, count):
        for n in range(count):
            self._invoice(user, n, days_ago=n)

        # auth user, count, page
        with django_assert_num_queries(3):
            assert api_client.get("/core/billing/invoices/").status_code == 200

    def test_subscription_query_count(self, api_client, subscribed, django_assert_num_queries):
        # auth user, subscription with its plan
        with django_assert_num_queries(2):
            assert api_client.get("/core/subscription/").status_code == 200


def test_billing_writes_count_against_the_plans_api_calls(api_client, user, customer, fake_stripe):
    from core.quotas import api_calls_used

    api_client.post("/core/billing/portal/")
    api_client.get("/core/billing/invoices/")

    assert api_calls_used(user=user) == 1


def test_billing_endpoints_are_in_the_openapi_schema(anon_client):
    paths = anon_client.get("/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    for path in (
        "/core/payments/create-checkout-session/",
        "/core/payments/verify-session/",
        "/core/payments/webhook/stripe/",
        "/core/billing/portal/",
        "/core/billing/invoices/",
        "/core/subscription/",
        "/core/subscription/change-plan/",
        "/core/subscription/cancel/",
        "/core/subscription/resume/",
    ):
        assert path in paths


def test_checkout_replaces_a_customer_stripe_no_longer_knows(api_client, user, plans, fake_stripe):
    user.stripe_customer_id = "cus_deleted_or_test_mode"
    user.save(update_fields=["stripe_customer_id"])

    response = _start_checkout(api_client, plans.basic)

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.stripe_customer_id in fake_stripe.customers
    [_refused, sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["customer"] == user.stripe_customer_id


def test_checkout_with_a_price_stripe_does_not_know_is_not_retried(api_client, user, customer, plans, fake_stripe):
    plans.basic.stripe_price_monthly = "price_gone"
    plans.basic.save()

    response = _start_checkout(api_client, plans.basic)

    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1
    user.refresh_from_db()
    assert user.stripe_customer_id == customer["id"]
