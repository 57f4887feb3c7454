"""Django's PostgreSQL backend, with a health check that needs no round trip while the connection is plainly fine.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` on a persistent connection before the first query of each
request. That round trip was a fifth of the time of a signed-in request (BENCHMARKS.md). A server that goes
away (a restart, a crash, `idle_session_timeout`, `pg_terminate_backend`) says so on the socket: it sends its
last message and closes it, so the socket becomes readable. An idle connection with nothing to read is
therefore one that `SELECT 1` would find usable. Whenever there is something to read, or the connection is
not idle, `SELECT 1` runs as in Django and its answer decides.

A server that vanishes without closing the socket (a cut network) is noticed by neither check until the
query times out, so nothing is lost against Django's own.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is not None and _idle_and_quiet(self.connection):
            return True
        return super().is_usable()


def _idle_and_quiet(connection) -> bool:
    """The connection is open, outside a transaction, and the server has sent nothing since the last reply."""
    if connection.closed:
        return False
    pgconn = connection.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)
