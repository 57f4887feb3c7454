from decimal import Decimal

import pytest
from django.core.management import call_command

from core.models import Plan

pytestmark = pytest.mark.django_db


def test_seed_plans_sync_stripe_stores_amount_currency_and_interval(fake_stripe, monkeypatch):
    product = fake_stripe.add_product(name="CVImprover Premium")
    monthly = fake_stripe.add_price(product=product["id"], unit_amount=2999, currency="eur")
    yearly = fake_stripe.add_price(product=product["id"], unit_amount=29900, currency="eur", interval="year")
    monkeypatch.setenv("STRIPE_PRICE_PREMIUM_MONTHLY", monthly["id"])
    monkeypatch.setenv("STRIPE_PRICE_PREMIUM_YEARLY", yearly["id"])

    call_command("seed_plans", "--sync-stripe", stdout=open("/dev/null", "w"))

    premium = Plan.objects.get(slug="premium")
    assert (premium.monthly_amount, premium.yearly_amount, premium.currency, premium.stripe_product_id) == (
        Decimal("29.99"),
        Decimal("299.00"),
        "eur",
        product["id"],
    )
    assert [r.path for r in fake_stripe.requests] == [f"/v1/prices/{monthly['id']}", f"/v1/prices/{yearly['id']}"]


def test_price_billed_at_another_interval_than_its_slot_is_not_stored(fake_stripe, monkeypatch):
    product = fake_stripe.add_product(name="CVImprover Basic")
    yearly = fake_stripe.add_price(product=product["id"], unit_amount=5000, interval="year")
    monkeypatch.setenv("STRIPE_PRICE_BASIC_MONTHLY", yearly["id"])

    from core.billing.services import plans_sync_prices_from_stripe

    call_command("seed_plans", stdout=open("/dev/null", "w"))
    lines = plans_sync_prices_from_stripe()

    assert Plan.objects.get(slug="basic").monthly_amount is None
    assert any("skipped" in line for line in lines)


def test_zero_decimal_currency_amounts_are_whole_units():
    from core.billing.currencies import amount_from_minor

    assert amount_from_minor(500, "usd") == Decimal("5.00")
    assert amount_from_minor(500, "JPY") == Decimal("500.00")
    assert amount_from_minor(None, "usd") is None


def test_plans_list_never_calls_stripe(fake_stripe, plans, client):
    fake_stripe.requests.clear()

    response = client.get("/core/plans/")

    assert response.status_code == 200
    assert fake_stripe.requests == []
