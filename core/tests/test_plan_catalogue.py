"""Each process keeps the plan catalogue under the shared generation token (core.hot_path.plan_catalogue): no extra
Redis call for it, and no process serves a plan after a committed change."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import redis
import requests
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from core.hot_path.plan_catalogue import GENERATION_KEY
from core.models import Plan
from testing.servers import gunicorn_server


@pytest.fixture
def redis_commands(monkeypatch):
    """The Redis commands this process sends, in order (a spy: every command still goes to Redis)."""
    sent: list[str] = []
    execute = redis.Redis.execute_command

    def spy(self, *args, **options):
        sent.append(str(args[0]))
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    return sent


def _seed() -> None:
    call_command("seed_plans", stdout=open("/dev/null", "w"))


@pytest.mark.django_db
def test_the_catalogue_costs_a_request_no_redis_call_of_its_own(user, api_client, redis_commands):
    _seed()
    assert api_client.get("/auth/user/").status_code == 200  # this process builds its copy
    assert APIClient().get("/core/plans/").status_code == 200
    redis_commands.clear()
    assert api_client.get("/auth/user/").json()["plan"]["slug"] == "free"
    assert APIClient().get("/core/plans/").json()["results"][0]["slug"] == "free"
    assert redis_commands == ["EVALSHA", "EVALSHA"]  # the rate limits, which read the token with them


@pytest.mark.django_db
def test_a_flushed_redis_gets_a_new_token_and_the_catalogue_is_built_again(user, api_client):
    _seed()
    assert api_client.get("/auth/user/").json()["plan"]["limits"]["ai_responses_per_day"] == 3
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    Plan.objects.filter(slug="free").update(ai_responses_per_day=4)  # announces a change as well
    client.flushdb()  # as if Redis had restarted after the change
    assert api_client.get("/auth/user/").json()["plan"]["limits"]["ai_responses_per_day"] == 4
    assert client.get(GENERATION_KEY)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_plan_changed_elsewhere_is_served_by_every_web_process_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIPE_PRICE_BASIC_MONTHLY", "price_basic_m")
    _seed()
    Plan.objects.filter(slug="basic").update(monthly_amount=Decimal("5.00"))
    with gunicorn_server(workers=2, log_path=tmp_path / "gunicorn.log") as web:

        def basic_prices() -> set[str]:
            # Enough requests at once that both workers answer (and keep their copy).
            with ThreadPoolExecutor(max_workers=6) as pool:
                answers = list(pool.map(lambda _: requests.get(f"{web.url}/core/plans/", timeout=10).json(), range(30)))
            return {page["results"][1]["monthly_price"]["amount"] for page in answers}

        assert basic_prices() == {"5.00"}
        basic = Plan.objects.get(slug="basic")
        basic.monthly_amount = Decimal("9.00")
        basic.save()  # this process is another machine's admin
        assert basic_prices() == {"9.00"}
        Plan.objects.filter(slug="basic").update(monthly_amount=Decimal("11.00"))  # a price webhook's update
        assert basic_prices() == {"11.00"}


@pytest.mark.django_db(transaction=True)
def test_a_change_read_inside_a_transaction_that_rolls_back_is_never_served():
    from django.db import transaction

    from core.hot_path.plan_catalogue import plans_catalogue

    _seed()

    def free_ai_limit() -> int:
        return plans_catalogue()[0]["limits"]["ai_responses_per_day"]

    assert free_ai_limit() == 3
    with pytest.raises(RuntimeError), transaction.atomic():
        Plan.objects.filter(slug="free").update(ai_responses_per_day=9)
        assert free_ai_limit() == 9  # the transaction sees its own change
        raise RuntimeError("the rest of the change failed")
    assert free_ai_limit() == 3
    assert APIClient().get("/core/plans/").json()["results"][0]["limits"]["ai_responses_per_day"] == 3


@pytest.mark.django_db
def test_a_generation_key_of_the_wrong_type_does_not_switch_the_rate_limits_off(user, api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user_burst": "2/min"},
    }
    _seed()
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(GENERATION_KEY)
    client.rpush(GENERATION_KEY, "not a string")
    assert [api_client.get("/auth/user/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db(transaction=True)  # a copy is only kept when built outside a transaction
def test_a_free_users_work_request_reads_no_token_of_its_own(user, api_client, redis_commands):
    """The plan's hourly limit comes from the process's copy; the rate-limit script checks its token."""
    _seed()
    assert api_client.get("/cv/ai-responses/").status_code == 200  # builds the copy
    redis_commands.clear()
    assert api_client.get("/cv/ai-responses/").status_code == 200
    assert redis_commands == ["EVALSHA"]


@pytest.mark.django_db(transaction=True)
def test_a_free_plan_limit_changed_by_another_process_applies_to_the_next_work_request(
    user, api_client, redis_commands
):
    from django.db import connection

    from core.quotas import api_calls_key

    _seed()
    assert api_client.get("/cv/ai-responses/").status_code == 200  # this process's copy: 100 calls an hour
    # Another process lowers the Free plan's hourly calls to 2 and announces it: only the token changes here.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_plan SET api_calls_per_hour = 2 WHERE slug = 'free'")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(GENERATION_KEY, "changed-by-another-process")
    redis_commands.clear()
    assert api_client.get("/cv/ai-responses/").status_code == 200  # the second call of the hour
    assert redis_commands == ["EVALSHA", "EVALSHA"]  # refused as stale, then counted under the new limit
    refused = api_client.get("/cv/ai-responses/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded" and refused.json()["limit"] == 2
    assert client.get(api_calls_key(user.pk)) == b"2"  # the stale attempt counted nothing


@pytest.mark.django_db(transaction=True)
def test_a_copy_assumed_before_redis_turned_out_unreachable_is_not_used(user):
    """While Redis is unreachable the catalogue is read from the database, also by a request that had
    assumed this process's copy (a change announced just before the outage is then served at once)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from core.hot_path import plan_catalogue

    _seed()
    plan_catalogue.plans_catalogue()  # this process's copy: Free has 3 analyses a day
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_plan SET ai_responses_per_day = 7 WHERE slug = 'free'")  # another process
    request_user = get_user_model().objects.get(pk=user.pk)
    assert plan_catalogue.limit_before_token(request_user, "ai_responses")[0] == 3  # the copy, assumed
    plan_catalogue.generation_unknown(request_user)  # the rate-limit round trip could not reach Redis
    assert plan_catalogue.current_limit(request_user, "ai_responses") == 7
