"""Django's PostgreSQL backend, with the per-request health check skipped on a connection that served a
request without an error less than a second ago.

With persistent connections and CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every
request: on a busy worker that was one more round trip per request, for a connection that had just been
used. A connection idle for longer is still checked first, and one that saw an error is checked (and
dropped if broken) when its request ends, as Django does. What is left is a database restart between two
requests less than a second apart: that request answers 503 (the database is unavailable) and the
connection is replaced for the next one.
"""

import time

from django.db.backends.postgresql import base

RECENTLY_USED_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _used_at: float | None = None

    def close_if_unusable_or_obsolete(self) -> None:
        # Called when each request (or Celery task) starts and ends.
        recent = self._used_at is not None and time.monotonic() - self._used_at < RECENTLY_USED_SECONDS
        super().close_if_unusable_or_obsolete()
        if self.connection is None:
            self._used_at = None
            return
        if recent and not self.errors_occurred:
            self.health_check_done = True
        self._used_at = time.monotonic()
