"""The database backend skips the health check only for a connection used a moment ago without an error;
an idle connection whose server side went away is replaced before a request uses it."""

import psycopg
import pytest
from django.core import signals
from django.db import connection

from core.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def _request_boundary(*, idle_seconds: float = 0) -> None:
    """What Django does between two requests (request_finished, then request_started), `idle_seconds` apart."""
    signals.request_finished.send(sender=None)
    if idle_seconds:
        connection._used_at -= idle_seconds  # type: ignore[attr-defined]  # cvimprover.db.base
    signals.request_started.send(sender=None)


@pytest.fixture
def persistent_connection():
    connection.ensure_connection()
    connection.close_at = None  # as with CONN_MAX_AGE > 0: the connection outlives the request
    yield connection


def test_a_connection_used_a_moment_ago_is_not_checked_again(persistent_connection):
    assert persistent_connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    _request_boundary()
    _request_boundary()
    assert persistent_connection.health_check_done is True  # no SELECT 1 before this request's first query


def test_an_idle_connection_is_checked(persistent_connection):
    _request_boundary()
    _request_boundary(idle_seconds=5)
    assert persistent_connection.health_check_done is False  # checked before its first query


def test_an_idle_connection_the_server_dropped_is_replaced_before_a_request_uses_it(persistent_connection):
    User.objects.count()
    with persistent_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = persistent_connection.get_connection_params()
    with psycopg.connect(dbname=params["dbname"], host=params.get("host"), port=params.get("port"),
                         user=params.get("user"), autocommit=True) as admin:  # fmt: skip
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    _request_boundary(idle_seconds=5)

    assert User.objects.count() >= 0
    with persistent_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
