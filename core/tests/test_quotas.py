import threading

import pytest
from django.db import connection

from core.exceptions import QuotaExceeded
from core.models import Plan, QuotaUsage
from core.quotas import quota_consume, quota_release
from core.tests.factories import PlanFactory


@pytest.mark.django_db(transaction=True)
def test_last_unit_is_taken_once_under_concurrency(user):
    outcomes: list[str] = []
    barrier = threading.Barrier(12)

    def take():
        barrier.wait()
        try:
            quota_consume(user=user, scope="ai_responses")
            outcomes.append("ok")
        except QuotaExceeded:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("ok") == 3
    assert outcomes.count("refused") == 9
    assert QuotaUsage.objects.get(user=user, scope="ai_responses").used == 3


@pytest.mark.django_db
def test_quota_error_names_limit_reset_and_upgrade(user):
    PlanFactory.create(slug="basic", order=1)
    for _ in range(3):
        quota_consume(user=user, scope="uploads")
    with pytest.raises(QuotaExceeded) as caught:
        quota_consume(user=user, scope="uploads")
    body = caught.value.as_dict()
    assert body["code"] == "quota_exceeded"
    assert body["limit"] == 3
    assert body["reset_at"].endswith("T00:00:00Z")
    assert body["upgrade_plan"]["slug"] == "basic"


@pytest.mark.django_db
def test_released_unit_can_be_taken_again(user):
    days = [quota_consume(user=user, scope="questionnaires") for _ in range(5)]
    with pytest.raises(QuotaExceeded):
        quota_consume(user=user, scope="questionnaires")
    quota_release(user=user, scope="questionnaires", day=days[0])
    quota_consume(user=user, scope="questionnaires")


@pytest.mark.django_db
def test_limits_come_from_the_plan_row(user):
    plan = PlanFactory.create(slug="pro", order=2, ai_responses_per_day=1)
    user.plan = plan
    user.save()
    quota_consume(user=user, scope="ai_responses")
    with pytest.raises(QuotaExceeded):
        quota_consume(user=user, scope="ai_responses")
    Plan.objects.filter(pk=plan.pk).update(ai_responses_per_day=2)
    user.refresh_from_db()
    quota_consume(user=user, scope="ai_responses")


@pytest.mark.django_db
def test_rate_limit_status_shows_every_scope(user, api_client):
    quota_consume(user=user, scope="ai_responses")
    quota_consume(user=user, scope="ai_responses")
    PlanFactory.create(slug="basic", order=1)
    body = api_client.get("/core/rate-limits/status/").json()
    ai = body["scopes"]["ai_responses"]
    assert (ai["limit"], ai["used"], ai["remaining"], ai["status"]) == (3, 2, 1, "ok")
    assert ai["percentage_used"] == 66.7
    assert set(body["scopes"]) == {"ai_responses", "questionnaires", "uploads", "api_calls"}
    assert body["upgrade"]["plan"]["slug"] == "basic"
    assert body["scopes"]["api_calls"]["limit"] == 100


@pytest.mark.django_db(transaction=True)  # committed plans, so the catalogue is kept as on a running site
def test_rate_limit_status_is_the_user_and_the_day_usage(api_client, user, django_assert_num_queries):
    PlanFactory.create(slug="basic", order=1)
    PlanFactory.create(slug="inactive-middle", order=1, is_active=False)
    PlanFactory.create(slug="pro", order=2)
    assert api_client.get("/core/rate-limits/status/").json()["upgrade"]["plan"]["slug"] == "basic"
    with django_assert_num_queries(2):  # the user (with their plan), today's usage; plans from the catalogue
        body = api_client.get("/core/rate-limits/status/").json()
    assert body["plan"]["slug"] == "free" and body["upgrade"]["plan"]["slug"] == "basic"
    user.plan = Plan.objects.get(slug="pro")
    user.save()
    assert api_client.get("/core/rate-limits/status/").json()["upgrade"] is None  # nothing above Pro here


@pytest.mark.django_db
def test_rate_limit_status_with_the_free_plan_hidden_from_the_catalogue(user, api_client):
    from core.plans import free_plan

    PlanFactory.create(slug="basic", order=1)
    Plan.objects.filter(pk=free_plan().pk).update(is_active=False)  # not offered any more, still applies
    body = api_client.get("/core/rate-limits/status/")
    assert body.status_code == 200
    assert body.json()["plan"]["slug"] == "free"
    assert body.json()["scopes"]["ai_responses"]["limit"] == 3
    assert body.json()["upgrade"]["plan"]["slug"] == "basic"


@pytest.mark.django_db
def test_rate_limit_status_of_a_plan_the_catalogue_does_not_have_yet(user, api_client, monkeypatch):
    from core.hot_path import plan_catalogue

    pro = PlanFactory.create(slug="pro", order=2, ai_responses_per_day=40)
    user.plan = pro
    user.save()
    # As in a process whose copy was built before Pro existed and whose token was not replaced.
    monkeypatch.setattr(
        plan_catalogue,
        "_entries_for",
        lambda viewer: [e for e in plan_catalogue._build() if e["data"]["slug"] != "pro"],
    )
    body = api_client.get("/core/rate-limits/status/").json()
    assert body["plan"]["slug"] == "pro" and body["scopes"]["ai_responses"]["limit"] == 40
