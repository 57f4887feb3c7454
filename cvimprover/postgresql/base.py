"""Django's PostgreSQL backend, with a health check that needs no round trip while the connection is plainly fine.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` on a persistent connection before the first query of each
request. That round trip was a fifth of the time of a signed-in request (BENCHMARKS.md). A server that goes
away (a restart, a crash, `idle_session_timeout`, `pg_terminate_backend`) says so on the socket: it sends its
last message and closes it, so the socket becomes readable. So `SELECT 1` is skipped only for a connection
that is idle, has nothing to read, and finished a request less than `QUIET_SECONDS` ago. Otherwise it runs
as in Django and its answer decides.

A server that vanishes without closing the socket (its host replaced at the same address, a cut network)
leaves nothing to read. A connection idle for longer than `QUIET_SECONDS` still gets the `SELECT 1` and is
replaced. One in use until then finds out with its next query: that request answers 503 (core.exceptions),
and Django closes the connection, so the next request gets a new one.
"""

from __future__ import annotations

import select
import time

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

QUIET_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _last_request_end = 0.0

    def is_usable(self) -> bool:
        recent = time.monotonic() - self._last_request_end < QUIET_SECONDS
        if recent and self.connection is not None and _idle_and_quiet(self.connection):
            return True
        return super().is_usable()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called by Django when a request starts and when it ends.
        super().close_if_unusable_or_obsolete()
        self._last_request_end = time.monotonic()


def _idle_and_quiet(connection) -> bool:
    """The connection is open, outside a transaction, and the server has sent nothing since the last reply."""
    try:
        if connection.closed:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (psycopg.Error, OSError, ValueError):  # whatever it is, Django's own check will tell
        return False
