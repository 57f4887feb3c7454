"""Metrics in the Prometheus text format, served at ``GET /metrics`` to a caller with the token.

Gunicorn runs several processes and each Celery worker its own, so with ``PROMETHEUS_MULTIPROC_DIR`` set (to a
folder every process of one deployment shares) prometheus-client keeps each process's numbers in a file there
and the scrape adds them up. Whoever starts the processes creates the folder empty and never wipes it while
any of them runs (scripts/run.sh, docker-compose.yml's tmpfs volume, testing/servers.py). Files are named by
host and process id, so containers sharing one volume never write to the same file. Without the variable
(runserver, the tests' own process) the numbers live in this process only.

What is counted, and where it is hooked (one small call each):
- requests by route template and status, with latency: ``RequestMetricsMiddleware``;
- jobs by kind and outcome with the time queued, running and in total: ``job_finished``, called by
  ``core.jobs.finish``, the one place every job kind writes its outcome; truthfulness verdicts ride along
  when the outcome carries a ``verification``;
- model calls by request form and outcome with latency and tokens: ``model_call_observed``, from ``cv.llm.client``;
- sign-in lockouts (``core.login_limits``) and throttled requests (``core.throttles``);
- queue depths, read from the broker at scrape time (``QueueDepthCollector``), bounded by short timeouts.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)
    # The default names files by process id alone: two containers on one volume can both have pid 7.
    _HOST = socket.gethostname()
    values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")

# Seconds: requests take milliseconds to a couple of seconds; jobs and model calls seconds to minutes.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_MODEL_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)

REQUESTS = Counter(
    "cvimprover_http_requests", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "cvimprover_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
JOBS = Counter("cvimprover_jobs", "Jobs finished, by kind and outcome (the status written).", ["kind", "outcome"])
JOB_QUEUED_SECONDS = Histogram(
    "cvimprover_job_queued_seconds",
    "Time from a job's creation to its (first) start.",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
JOB_RUNNING_SECONDS = Histogram(
    "cvimprover_job_running_seconds", "Time from a job's start to its end.", ["kind", "outcome"], buckets=_JOB_BUCKETS
)
JOB_TOTAL_SECONDS = Histogram(
    "cvimprover_job_total_seconds",
    "Time from a job's creation to its end.",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
VERDICTS = Counter(
    "cvimprover_truthfulness_verdicts", "Truthfulness check verdicts of finished jobs.", ["kind", "verdict"]
)
MODEL_CALLS = Counter(
    "cvimprover_model_calls",
    "Requests to the model server, by request form (json_schema, json_object, prompt) and outcome "
    "(ok, refused for a form, or the error code).",
    ["mode", "outcome"],
)
MODEL_SECONDS = Histogram(
    "cvimprover_model_call_duration_seconds",
    "Time of one request to the model server.",
    ["mode", "outcome"],
    buckets=_MODEL_BUCKETS,
)
MODEL_TOKENS = Counter(
    "cvimprover_model_tokens", "Tokens the model server reported, by request form and side.", ["mode", "side"]
)
LOGIN_LOCKOUTS = Counter(
    "cvimprover_login_lockouts", "Sign-in attempts refused because the account or address is locked.", ["scope"]
)
THROTTLED = Counter(
    "cvimprover_throttled_requests", "Requests refused by a rate limit (anon, user_burst, api_calls).", ["scope"]
)

# The job kinds by model, as strings: core names no cv or pdf module.
JOB_KINDS = {
    "cv.airesponse": "analysis",
    "cv.coverletter": "cover_letter",
    "pdf.document": "pdf",
    "core.stripeevent": "stripe_event",
}


# ---- requests


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_template(request: HttpRequest) -> str:
    """The URL pattern that answered (``cv/ai-responses/<pk>/``), never the path itself, so the label's
    values stay few; ``<unmatched>`` for a path no pattern took."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    if not route:
        return "<unmatched>"
    # DRF routers use regular expressions: "^ai-responses/(?P<pk>[^/.]+)/$" reads as "ai-responses/<pk>/".
    route = _NAMED_GROUP.sub(lambda m: f"<{m.group(1)}>", route)
    return "/" + route.replace("^", "").replace("$", "").replace("\\", "")[:200]


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        try:
            route = route_template(request)
            method = request.method if request.method in _METHODS else "other"
            REQUESTS.labels(method, route, str(response.status_code)).inc()
            REQUEST_SECONDS.labels(method, route).observe(elapsed)
        except Exception:  # a metric must never break an answer
            logger.warning("request metrics failed", exc_info=True)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# ---- jobs


def _first(job: Any, *names: str) -> datetime | None:
    for name in names:
        value = getattr(job, name, None)
        if isinstance(value, datetime):
            return value
    return None


def job_finished(job: Any, outcome: Any, fields: dict[str, Any]) -> None:
    """Count a job that ``core.jobs.finish`` just finished with ``fields`` (``outcome``, the status written,
    among them). Counted at once, not on commit: a finish is the last write of its transaction, and a
    callback more would change what callers' on_commit lists hold."""
    kind = JOB_KINDS.get(job._meta.label_lower)
    if kind is None or outcome is None:
        return
    now = timezone.now()
    created = _first(job, "created_at", "received_at")
    started = _first(job, "started_at", "claimed_at")
    verification = fields.get("verification")
    verdict = verification.get("status") if isinstance(verification, dict) else None

    outcome_label = str(outcome)
    JOBS.labels(kind, outcome_label).inc()
    if created and started:
        JOB_QUEUED_SECONDS.labels(kind, outcome_label).observe(max(0.0, (started - created).total_seconds()))
    if started:
        JOB_RUNNING_SECONDS.labels(kind, outcome_label).observe(max(0.0, (now - started).total_seconds()))
    if created:
        JOB_TOTAL_SECONDS.labels(kind, outcome_label).observe(max(0.0, (now - created).total_seconds()))
    if verdict:
        VERDICTS.labels(kind, str(verdict)).inc()


# ---- model calls


def model_call_observed(
    *, mode: str, outcome: str, seconds: float, prompt_tokens: int | None = None, completion_tokens: int | None = None
) -> None:
    MODEL_CALLS.labels(mode, outcome).inc()
    MODEL_SECONDS.labels(mode, outcome).observe(seconds)
    if prompt_tokens:
        MODEL_TOKENS.labels(mode, "prompt").inc(prompt_tokens)
    if completion_tokens:
        MODEL_TOKENS.labels(mode, "completion").inc(completion_tokens)


# ---- queues


def _queue_names() -> list[str]:
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


# kombu's Redis transport keeps a queue's messages in one list per priority step: the queue's name for the
# default step, "<name>\x06\x16<step>" for the others.
_PRIORITY_STEPS = (0, 3, 6, 9)
_PRIORITY_SEP = "\x06\x16"


def queue_depths() -> dict[str, int] | None:
    """Messages waiting per Celery queue, read from the broker (a Redis) in one round trip with short
    timeouts; None when it cannot be read."""
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    names = _queue_names()
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            for step in _PRIORITY_STEPS:
                pipe.llen(name if step == 0 else f"{name}{_PRIORITY_SEP}{step}")
        lengths = pipe.execute()
    except redis.RedisError:
        logger.warning("queue depths unavailable: the broker did not answer")
        return None
    finally:
        client.close()
    steps = len(_PRIORITY_STEPS)
    return {name: sum(lengths[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}


class QueueDepthCollector(Collector):
    """Queue depths at scrape time, so every scrape shows the broker as it is (no process keeps them)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depths = queue_depths()
        family = GaugeMetricFamily("cvimprover_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        for name, depth in (depths or {}).items():
            family.add_metric([name], depth)
        yield family
        yield GaugeMetricFamily(
            "cvimprover_queue_depth_readable",
            "1 when the broker answered the queue-depth read.",
            value=int(bool(depths)),
        )


# ---- the endpoint


def exposition() -> bytes:
    """Every process's metrics added up (multiprocess mode) or this process's, and the queue depths."""
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(QueueDepthCollector())
    return generate_latest(registry)


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self):
        return self.source.collect()


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the metrics with ``Authorization: Bearer <METRICS_TOKEN>``; 404 otherwise (unset
    token, no header or a wrong token alike), so the endpoint's existence is not told to a stranger. A plain
    Django view: no DRF throttle counts a scrape."""
    if not _authorised(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
