from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.models import Plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setenv("STRIPE_PRICE_BASIC_MONTHLY", "price_basic_m")
    monkeypatch.setenv("STRIPE_PRICE_BASIC_YEARLY", "price_basic_y")
    monkeypatch.setenv("STRIPE_PRICE_PRO_MONTHLY", "price_pro_m")
    call_command("seed_plans", stdout=open("/dev/null", "w"))
    Plan.objects.filter(slug="basic").update(monthly_amount=Decimal("5.00"), yearly_amount=Decimal("50.00"))
    Plan.objects.filter(slug="pro").update(monthly_amount=Decimal("15.00"))


def test_plans_are_listed_in_order_with_prices_and_limits(seeded):
    response = APIClient().get("/core/plans/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [p["name"] for p in results] == ["Free", "Basic", "Pro", "Premium"]
    free, basic = results[0], results[1]
    assert free["monthly_price"] == {"amount": "0.00", "currency": "usd", "interval": "monthly"}
    assert free["yearly_price"] == {"amount": "0.00", "currency": "usd", "interval": "yearly"}
    assert free["limits"] == {
        "ai_responses_per_day": 3, "questionnaires_per_day": 5, "uploads_per_day": 3, "api_calls_per_hour": 100,
    }  # fmt: skip
    assert basic["monthly_price"] == {"amount": "5.00", "currency": "usd", "interval": "monthly"}
    assert basic["yearly_price"] == {"amount": "50.00", "currency": "usd", "interval": "yearly"}
    assert set(basic) >= {"id", "name", "description", "features", "limits", "is_current"}
    assert not any(p["is_current"] for p in results)


def test_billing_filter_keeps_plans_with_that_price(seeded):
    monthly = [p["name"] for p in APIClient().get("/core/plans/?billing=monthly").json()["results"]]
    yearly = [p["name"] for p in APIClient().get("/core/plans/?billing=yearly").json()["results"]]
    assert monthly == ["Free", "Basic", "Pro"]
    assert yearly == ["Free", "Basic"]
    assert APIClient().get("/core/plans/?billing=weekly").status_code == 400


def test_is_current_marks_the_callers_plan(seeded, user, api_client):
    user.plan = Plan.objects.get(slug="pro")
    user.save()
    results = api_client.get("/core/plans/").json()["results"]
    assert [p["slug"] for p in results if p["is_current"]] == ["pro"]


# Committed rows, as a request sees them: a catalogue read inside a transaction is not kept (it could roll back).
@pytest.mark.django_db(transaction=True)
def test_plans_list_query_count(seeded, django_assert_max_num_queries, django_assert_num_queries):
    with django_assert_max_num_queries(1):
        assert APIClient().get("/core/plans/").status_code == 200
    # Later answers come from the shared cache.
    with django_assert_num_queries(0):
        assert APIClient().get("/core/plans/?billing=yearly").status_code == 200


def test_a_changed_plan_is_listed_at_once(seeded, user, api_client):
    assert APIClient().get("/core/plans/").json()["results"][1]["monthly_price"]["amount"] == "5.00"
    basic = Plan.objects.get(slug="basic")
    basic.monthly_amount = Decimal("6.00")
    basic.ai_responses_per_day = 25
    basic.save()
    listed = APIClient().get("/core/plans/").json()["results"][1]
    assert listed["monthly_price"]["amount"] == "6.00"
    assert listed["limits"]["ai_responses_per_day"] == 25

    user.plan = basic
    user.save()
    assert api_client.get("/auth/user/").json()["plan"]["limits"]["ai_responses_per_day"] == 25
    Plan.objects.get(slug="pro").delete()
    assert [p["slug"] for p in APIClient().get("/core/plans/").json()["results"]] == ["free", "basic", "premium"]


def test_seed_plans_twice_gives_four_plans_and_keeps_admin_edits_of_other_fields(monkeypatch):
    monkeypatch.setenv("STRIPE_PRICE_PREMIUM_YEARLY", "price_prem_y")
    call_command("seed_plans", stdout=open("/dev/null", "w"))
    Plan.objects.filter(slug="basic").update(monthly_amount=Decimal("7.00"), stripe_product_id="prod_1")
    call_command("seed_plans", stdout=open("/dev/null", "w"))
    assert Plan.objects.count() == 4
    basic = Plan.objects.get(slug="basic")
    assert (basic.monthly_amount, basic.stripe_product_id) == (Decimal("7.00"), "prod_1")
    premium = Plan.objects.get(slug="premium")
    assert premium.stripe_price_yearly == "price_prem_y"
    assert (premium.ai_responses_per_day, premium.uploads_per_day, premium.api_calls_per_hour) == (1000, 500, 1200)


def test_seed_plans_from_json(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{"pro": {"monthly": "price_pro_m", "yearly": "price_pro_y"}}')
    call_command("seed_plans", "--from-json", str(path), stdout=open("/dev/null", "w"))
    pro = Plan.objects.get(slug="pro")
    assert (pro.stripe_price_monthly, pro.stripe_price_yearly) == ("price_pro_m", "price_pro_y")
