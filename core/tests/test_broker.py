"""The broker transport (cvimprover.broker): kombu's Redis transport, publishing through one client."""

import redis
from django.conf import settings

from cvimprover.broker import Transport
from cvimprover.celery import app


def test_redis_broker_urls_use_the_transport():
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)


def test_messages_are_published_through_one_client_until_the_pool_is_replaced():
    queue = "test-broker-reuse"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(queue)
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        producer = app.amqp.Producer(channel)
        first = channel._create_client()
        for n in range(3):
            producer.publish({"n": n}, routing_key=queue, exchange="", declare=[])
        assert channel._create_client() is first
        channel._disconnect_pools()  # what kombu does after a lost connection
        assert channel._create_client() is not first
        producer.publish({"n": 3}, routing_key=queue, exchange="", declare=[])
    assert client.llen(queue) == 4  # every message reached Redis
    client.delete(queue)
    client.close()
