"""Health of the services the API depends on, each checked with a short timeout."""

import redis
from django.conf import settings
from django.db import connection
from kombu import Connection


def _check_db() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:  # any failure means down; the reason is in the server log, not the answer
        return "down"


def _check_redis(url: str) -> str:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
        return "ok"
    except redis.RedisError:
        return "down"
    finally:
        client.close()


def _check_broker(url: str) -> str:
    try:
        with Connection(url, connect_timeout=1, transport_options={"socket_timeout": 1}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=1)
        return "ok"
    except Exception:
        return "down"


def health_report() -> tuple[dict, bool]:
    """(report, healthy). Healthy means db and redis answer; a broker outage only degrades."""
    services = {
        "db": _check_db(),
        "redis": _check_redis(settings.REDIS_URL),
        "broker": _check_broker(settings.CELERY_BROKER_URL),
        "openai": "configured" if settings.OPENAI_API_KEY else "offline",
    }
    healthy = services["db"] == "ok" and services["redis"] == "ok"
    if not healthy:
        overall = "down"
    elif services["broker"] != "ok":
        overall = "degraded"
    else:
        overall = "ok"
    return {"overall": overall, "services": services}, healthy
