"""Billing fixtures: a fake Stripe server on 127.0.0.1 with the official client pointed at it, plans priced
at that fake, and helpers to post webhooks signed with Stripe's real scheme."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from core.tests.helpers import WEBHOOK_SECRET, post_webhook, process_stored_events
from testing.fake_stripe import API_KEY, FakeStripe


@pytest.fixture
def fake_stripe(settings):
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = API_KEY
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        # Tests that want the SDK's own retries turn them on; by default a failure shows at once.
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        settings.STRIPE_TIMEOUT = 5
        yield fake


@pytest.fixture
def celery_eager():
    """`.delay()` runs the task in the calling thread (for tests that drive beat tasks by hand)."""
    from cvimprover.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@dataclass
class BillingPlans:
    free: object
    basic: object
    pro: object
    basic_monthly: str
    basic_yearly: str
    pro_monthly: str
    pro_yearly: str


@pytest.fixture
def plans(db, fake_stripe):
    from core.plans import free_plan
    from core.tests.factories import PlanFactory

    prices = {}
    for slug, monthly, yearly in (("basic", 500, 5000), ("pro", 1500, 15000)):
        product = fake_stripe.add_product(name=f"CVImprover {slug.title()}")
        prices[f"{slug}_monthly"] = fake_stripe.add_price(product=product["id"], unit_amount=monthly)["id"]
        prices[f"{slug}_yearly"] = fake_stripe.add_price(product=product["id"], unit_amount=yearly, interval="year")[
            "id"
        ]
        prices[f"{slug}_product"] = product["id"]
    basic = PlanFactory.create(
        slug="basic",
        order=1,
        stripe_product_id=prices["basic_product"],
        stripe_price_monthly=prices["basic_monthly"],
        stripe_price_yearly=prices["basic_yearly"],
        monthly_amount=Decimal("5.00"),
        yearly_amount=Decimal("50.00"),
    )
    pro = PlanFactory.create(
        slug="pro",
        order=2,
        ai_responses_per_day=100,
        stripe_product_id=prices["pro_product"],
        stripe_price_monthly=prices["pro_monthly"],
        stripe_price_yearly=prices["pro_yearly"],
        monthly_amount=Decimal("15.00"),
        yearly_amount=Decimal("150.00"),
    )
    return BillingPlans(
        free=free_plan(),
        basic=basic,
        pro=pro,
        basic_monthly=prices["basic_monthly"],
        basic_yearly=prices["basic_yearly"],
        pro_monthly=prices["pro_monthly"],
        pro_yearly=prices["pro_yearly"],
    )


@pytest.fixture
def customer(user, fake_stripe):
    """`user` with a Stripe customer at the fake."""
    created = fake_stripe.add_customer(email=user.email, metadata={"user_id": str(user.pk)})
    user.stripe_customer_id = created["id"]
    user.save(update_fields=["stripe_customer_id"])
    return created


@pytest.fixture
def subscribed(user, customer, plans, fake_stripe):
    """`user` subscribed to Basic monthly, at the fake and in our database (as a webhook would leave it)."""
    from django.utils import timezone

    from core.billing.sync import subscription_sync_from_stripe

    stripe_subscription = fake_stripe.add_subscription(
        customer=customer["id"], price=plans.basic_monthly, metadata={"user_id": str(user.pk)}
    )
    subscription_sync_from_stripe(
        stripe_subscription=stripe_subscription, event_created=timezone.now() - timedelta(minutes=5)
    )
    user.refresh_from_db()
    return stripe_subscription


@pytest.fixture
def deliver(fake_stripe):
    """Post a signed event to the webhook, check it was accepted, and process it as the worker would."""

    def _deliver(event: dict):
        response = post_webhook(event)
        assert response.status_code == 200, response.content
        process_stored_events()
        return response

    return _deliver
