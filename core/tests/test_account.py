import pytest
from rest_framework.test import APIClient

from core.models import QuotaUsage, User
from core.plans import free_plan
from core.quotas import quota_consume
from testing.helpers import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_account_deletion_removes_the_user_and_their_rows(user, api_client):
    quota_consume(user=user, scope="uploads")
    response = api_client.delete("/auth/user/")
    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not QuotaUsage.objects.filter(user_id=user.pk).exists()
    assert api_client.get("/auth/user/").status_code == 401


def test_account_deletion_needs_csrf_with_cookie_auth(user):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/auth/csrf-token/")
    client.post("/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    assert client.delete("/auth/user/").status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


# Committed rows, as a request sees them: a catalogue read inside a transaction is not kept (it could roll back).
@pytest.mark.django_db(transaction=True)
def test_profile_is_one_query_and_no_network(user, api_client, django_assert_num_queries):
    free_plan()  # seeded, as on a real installation
    assert api_client.get("/auth/user/").status_code == 200  # fills the plan catalogue cache
    # The user with their plan and subscription summary; the plan itself comes from the catalogue.
    with django_assert_num_queries(1):
        body = api_client.get("/auth/user/").json()
    assert body["plan"]["slug"] == "free" and body["subscription"] is None


# Committed rows, as a request sees them: a catalogue read inside a transaction is not kept (it could roll back).
@pytest.mark.django_db(transaction=True)
def test_profile_shows_the_live_subscription_loaded_with_the_user(user, api_client, django_assert_num_queries):
    import datetime as dt

    from core.models import Plan, Subscription

    basic = Plan.objects.create(
        slug="basic", name="Basic", order=1, ai_responses_per_day=20, questionnaires_per_day=50,
        uploads_per_day=20, api_calls_per_hour=300,
    )  # fmt: skip
    end = dt.datetime(2027, 1, 1, 12, 30, tzinfo=dt.UTC)
    Subscription.objects.create(user=user, plan=basic, stripe_subscription_id="sub_old", status="canceled")
    Subscription.objects.create(
        user=user, plan=basic, stripe_subscription_id="sub_live", status="active", interval="monthly",
        current_period_end=end, cancel_at_period_end=True,
    )  # fmt: skip
    user.plan = basic
    user.save()
    api_client.get("/auth/user/")
    with django_assert_num_queries(1):
        body = api_client.get("/auth/user/").json()
    assert body["plan"]["slug"] == "basic"
    assert body["subscription"] == {
        "status": "active", "interval": "monthly", "current_period_end": "2027-01-01T12:30:00Z",
        "cancel_at_period_end": True,
    }  # fmt: skip


def test_anonymous_profile_is_401(anon_client):
    response = anon_client.get("/auth/user/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
