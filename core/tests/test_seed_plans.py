"""`seed_plans` runs on every start: it creates what is missing and sets price ids, and never undoes what an
admin changed; `--reset` is the one way back to the defaults."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.models import Plan
from core.plans import DEFAULT_PLANS

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_plans", *args, stdout=out)
    return out.getvalue()


def test_first_run_creates_the_four_plans_with_their_defaults():
    seed()
    plans = {p.slug: p for p in Plan.objects.all()}
    assert list(plans) == ["free", "basic", "pro", "premium"]
    for defaults in DEFAULT_PLANS:
        plan = plans[defaults.slug]
        assert {field: getattr(plan, field) for field in defaults.field_values()} == defaults.field_values()


def test_limits_names_and_texts_edited_in_the_admin_survive_a_restart():
    seed()
    Plan.objects.filter(slug="basic").update(
        ai_responses_per_day=42, uploads_per_day=7, name="Basic+", description="Our own words", features=["x"]
    )
    Plan.objects.filter(slug="free").update(is_active=False)

    out = seed()

    basic = Plan.objects.get(slug="basic")
    assert (basic.ai_responses_per_day, basic.uploads_per_day) == (42, 7)
    assert (basic.name, basic.description, basic.features) == ("Basic+", "Our own words", ["x"])
    assert Plan.objects.get(slug="free").is_active is False
    assert "Basic+: unchanged" in out
    assert Plan.objects.count() == 4


def test_a_deleted_plan_is_created_again_and_the_others_are_left_alone():
    seed()
    Plan.objects.filter(slug="pro").update(api_calls_per_hour=1)
    Plan.objects.filter(slug="premium").delete()

    out = seed()

    assert "created Premium" in out
    assert Plan.objects.get(slug="premium").ai_responses_per_day == 1000
    assert Plan.objects.get(slug="pro").api_calls_per_hour == 1


def test_price_ids_from_the_environment_are_set_on_existing_plans(monkeypatch):
    seed()
    Plan.objects.filter(slug="basic").update(ai_responses_per_day=42, stripe_price_yearly="price_admin_y")
    monkeypatch.setenv("STRIPE_PRICE_BASIC_MONTHLY", "price_basic_m")

    out = seed()

    basic = Plan.objects.get(slug="basic")
    assert (basic.stripe_price_monthly, basic.stripe_price_yearly) == ("price_basic_m", "price_admin_y")
    assert basic.ai_responses_per_day == 42
    assert "Basic: set stripe_price_monthly" in out


def test_price_ids_from_json_are_set_and_limits_kept(tmp_path):
    seed()
    Plan.objects.filter(slug="pro").update(uploads_per_day=3)
    path = tmp_path / "prices.json"
    path.write_text('{"pro": {"monthly": "price_pro_m", "yearly": "price_pro_y"}}')

    seed("--from-json", str(path))

    pro = Plan.objects.get(slug="pro")
    assert (pro.stripe_price_monthly, pro.stripe_price_yearly, pro.uploads_per_day) == ("price_pro_m", "price_pro_y", 3)


def test_an_unknown_plan_in_the_json_is_refused_and_nothing_changes(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{"pro": {"monthly": "price_pro_m"}, "gold": {"monthly": "price_gold_m"}}')
    with pytest.raises(CommandError, match=r"Unknown plans .*: gold"):
        seed("--from-json", str(path))
    assert not Plan.objects.exists()


def test_reset_puts_the_defaults_back_and_keeps_price_ids(monkeypatch):
    seed()
    Plan.objects.filter(slug="basic").update(
        ai_responses_per_day=42, name="Basic+", is_active=False, stripe_price_monthly="price_basic_m"
    )

    out = seed("--reset")

    basic = Plan.objects.get(slug="basic")
    defaults = DEFAULT_PLANS[1]
    assert (basic.ai_responses_per_day, basic.name, basic.is_active) == (defaults.ai_responses_per_day, "Basic", True)
    assert basic.stripe_price_monthly == "price_basic_m"
    assert "Basic: set name, is_active, ai_responses_per_day" in out
