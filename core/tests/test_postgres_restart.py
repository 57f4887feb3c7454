"""PostgreSQL restarts under a running server (DESIGN: "PostgreSQL restarted: the same").

A cluster of this test's own (initdb in a temporary folder, a spare port); the machine's PostgreSQL is never
touched. The server's persistent connections (CONN_MAX_AGE) die with the restart: the next request must
notice (CONN_HEALTH_CHECKS) and reconnect, with no restart of the server.
"""

import subprocess
import time
import uuid

import psycopg
import pytest
import requests

from testing.servers import PostgresCluster, gunicorn_server
from testing.workers import worker_env

# django_db: so the test database exists even when this test runs alone (pytest-django creates only the
# databases the collected tests ask for), and the dump copies it, never the development database.
pytestmark = [pytest.mark.worker, pytest.mark.django_db]


@pytest.fixture
def cluster():
    pg = PostgresCluster()
    if not pg.available:
        pytest.skip(f"no PostgreSQL server binaries in {pg.BIN}")
    try:
        pg.init()
        pg.start()
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE cvimprover_fault")
        yield pg
    finally:
        pg.close()


def _unknown() -> dict:
    # A new name each time: the sign-in limits lock a name after a few failures, and this is not about them.
    return {"email": f"nobody-{uuid.uuid4().hex[:12]}@example.com", "password": "not-a-password-1"}


def _get(url: str) -> int:
    return requests.get(url, timeout=15).status_code


def _sign_in(base: str) -> int:
    return requests.post(f"{base}/auth/login/", json=_unknown(), timeout=15).status_code


def _copy_test_database_into(cluster: PostgresCluster, name: str) -> str:
    """The migrated test database's schema and rows, copied in with pg_dump (much faster than migrating)."""
    source = worker_env()["DATABASE_URL"]
    dump = subprocess.run(
        [str(cluster.BIN / "pg_dump"), "--no-owner", "--no-privileges", source],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    target = cluster.url(name)
    subprocess.run(
        [str(cluster.BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", target], input=dump, check=True, capture_output=True
    )
    return target


def test_server_answers_503_while_postgresql_is_down_and_recovers_after_its_restart(
    cluster, tmp_path, django_db_setup, django_db_blocker
):
    with django_db_blocker.unblock():
        database_url = _copy_test_database_into(cluster, "cvimprover_fault")

    with gunicorn_server(workers=2, log_path=tmp_path / "gunicorn.log", DATABASE_URL=database_url) as web:
        # Both workers hold a persistent connection (CONN_MAX_AGE) before the restart. A sign-in with an
        # unknown account reads the database each time (the plan list may be served from the cache).
        assert [_get(f"{web.url}/core/plans/") for _ in range(4)] == [200] * 4
        assert [_sign_in(web.url) for _ in range(4)] == [400] * 4

        cluster.stop("fast")
        assert _get(f"{web.url}/core/health/") == 503
        refused = requests.post(f"{web.url}/auth/login/", json=_unknown(), timeout=15)
        assert refused.status_code == 503
        assert refused.json()["code"] == "service_unavailable"

        cluster.start()
        started = time.monotonic()
        assert [_sign_in(web.url) for _ in range(4)] == [400] * 4
        assert [_get(f"{web.url}/core/plans/") for _ in range(4)] == [200] * 4
        assert _get(f"{web.url}/core/health/") == 200
        assert time.monotonic() - started < 10
