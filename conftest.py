import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from core.tests.factories import UserFactory
from testing.helpers import bearer_client
from testing.workers import start_worker, stop_worker


@pytest.fixture(scope="session", autouse=True)
def _clean_test_redis():
    """The test Redis database is ours alone: start every run from an empty broker, cache and counters."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _reset_cache():
    from django.core.cache import cache

    from core.redis_safety import breaker

    # A test that took Redis away leaves this process's breaker open for a few seconds: the next test
    # starts with Redis trusted again, as a fresh process would.
    breaker.succeeded()
    cache.clear()


@pytest.fixture
def tmp_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def user(db):
    from core.plans import free_plan

    free_plan()  # as seed_plans leaves it on a running site: requests never create a plan
    return UserFactory.create()


@pytest.fixture
def other_user(db):
    return UserFactory.create()


@pytest.fixture
def api_client(user):
    """A client signed in as `user` with a real JWT in the Authorization header."""
    return bearer_client(user)


@pytest.fixture
def other_client(other_user):
    return bearer_client(other_user)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker subprocess consuming every queue, for `django_db(transaction=True)` tests."""
    with django_db_blocker.unblock():
        proc = start_worker(name="session", concurrency=2, log_path=tmp_path_factory.mktemp("celery") / "worker.log")
    yield proc
    stop_worker(proc)
