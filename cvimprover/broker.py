"""kombu's Redis transport, with one Redis client per channel for publishing instead of one per message.

kombu builds a new `redis.Redis` for every message it publishes (`Channel._create_client`), on the channel's
shared connection pool; building one sets up its table of about 170 reply callbacks, a quarter of the
Python time of queueing an analysis (BENCHMARKS.md). A client is only a handle on the pool, safe to share,
so the channel keeps the one it built for as long as its pool lives. Consuming (the worker's BRPOP) is
unchanged. Selected in settings for `redis://` broker URLs (CELERY_BROKER_TRANSPORT).
"""

from __future__ import annotations

from kombu.transport import redis


class Channel(redis.Channel):
    _publishing_client = None

    def _create_client(self, asynchronous: bool = False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._publishing_client
        if client is None or client.connection_pool is not self.pool:  # a new pool after a disconnect
            client = self._publishing_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel
