import pytest

from core.models import StripeEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["subscription", "invoice", "stripeevent"])
def test_billing_admin_lists_render_with_filters_and_search(admin_client, subscribed, model):
    response = admin_client.get(f"/admin/core/{model}/", {"q": "x"})

    assert response.status_code == 200


def test_event_admin_shows_the_payload_read_only_and_processes_again(
    admin_client, fake_stripe, plans, django_capture_on_commit_callbacks
):
    event = StripeEvent.objects.create(
        stripe_id="evt_admin_1",
        type="price.updated",
        stripe_created="2026-01-01T00:00:00Z",
        payload=fake_stripe.event("price.updated", fake_stripe.prices[plans.basic_monthly]),
        status=StripeEvent.Status.FAILED,
        attempts=10,
        last_error="StripeTransientError: down",
    )

    page = admin_client.get(f"/admin/core/stripeevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b"price.updated" in page.content
    assert b'name="payload"' not in page.content

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/core/stripeevent/", {"action": "process_again", "_selected_action": [event.pk]}
        )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == StripeEvent.Status.FAILED
    assert event.next_attempt_at is not None
    assert len(callbacks) == 1


def test_admin_lists_show_amounts_with_their_currencys_decimals(admin_client, user):
    from decimal import Decimal

    from core.models import Invoice
    from core.tests.factories import PlanFactory

    PlanFactory.create(slug="basic", order=1, monthly_amount=Decimal("5"), currency="usd")
    PlanFactory.create(slug="gulf", order=2, monthly_amount=Decimal("1.25"), currency="kwd")
    Invoice.objects.create(
        user=user, stripe_invoice_id="in_yen", status="paid", currency="jpy", amount_due=Decimal("500"),
        amount_paid=Decimal("500"), stripe_created="2026-01-01T00:00:00Z",
    )  # fmt: skip
    plans = admin_client.get("/admin/core/plan/").content.decode()
    assert "5.00 USD" in plans and "1.250 KWD" in plans and "5.000" not in plans
    invoices = admin_client.get("/admin/core/invoice/").content.decode()
    assert "500 JPY" in invoices and "500.000" not in invoices
