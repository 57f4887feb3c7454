"""The persistent connection's health check (cvimprover/postgresql): no round trip on a healthy connection,
and a connection the server ended is replaced before the request's first query."""

import select

import psycopg
import pytest
from django.db import connection

from cvimprover.postgresql.base import _idle_and_quiet

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit: between requests a connection is idle


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _admin():
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None, port=settings["PORT"] or None, dbname=settings["NAME"], autocommit=True,
        user=settings["USER"] or None,
    )  # fmt: skip


def _next_request() -> None:
    """What Django does when a request ends and the next starts: the next query checks the connection again."""
    connection.close_if_unusable_or_obsolete()


def test_a_healthy_idle_connection_is_checked_without_a_query():
    assert connection.health_check_enabled  # type: ignore[attr-defined]  # not in django-stubs
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last query before the check'")
    _next_request()
    connection.close_if_health_check_failed()
    with _admin() as admin:
        last = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]
    assert last == "SELECT 'the last query before the check'"  # no SELECT 1 was sent
    assert _backend_pid() == pid  # and the connection was kept


def _last_query(pid: int) -> str:
    with _admin() as admin:
        return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_a_connection_quiet_for_longer_than_a_moment_is_checked_with_a_query(monkeypatch):
    from cvimprover.postgresql import base

    monkeypatch.setattr(base, "QUIET_SECONDS", 0.0)  # every connection counts as idle for a while
    pid = _backend_pid()
    _next_request()
    connection.close_if_health_check_failed()
    assert _last_query(pid) == "SELECT 1"  # Django's own check: a replaced host answers it with a reset


def test_a_connection_the_server_ended_is_replaced_before_the_next_query():
    pid = _backend_pid()
    with _admin() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    # The server's goodbye reaches the socket a moment later.
    assert select.select([connection.connection.pgconn.socket], [], [], 5)[0]
    assert not _idle_and_quiet(connection.connection)
    _next_request()
    new_pid = _backend_pid()  # no OperationalError: the check noticed and Django reconnected
    assert new_pid != pid


def test_a_connection_inside_a_transaction_is_checked_with_a_query():
    _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        assert not _idle_and_quiet(connection.connection)
        cursor.execute("ROLLBACK")
    assert _idle_and_quiet(connection.connection)
