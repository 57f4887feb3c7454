"""The admin's front page: what needs a person today, above the model lists.

Failed analyses, letters and documents of the last 24 hours by error code; jobs waiting longest or held past
their lease; Stripe events failed or waiting for "process again"; queue depths; today's model cost. Each
figure links to the admin list filtered to the rows it counts. Here, in the project package, because it
reads every app's jobs (as the root URLconf names every app's URLs); a fixed number of queries, whatever
the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

from core import costs, metrics
from core.models import StripeEvent
from cv.models import AIResponse, CoverLetter
from pdf.models import Document

FAILED_WINDOW = timedelta(hours=24)
# Above this many error codes per kind, the rest are one "other codes" line (still one query).
MAX_CODES = 8


@dataclass(frozen=True)
class Link:
    text: str
    count: int
    url: str


@dataclass(frozen=True)
class Watched:
    """A job model as the front page reads it: its list, when it ended, where its lease is."""

    title: str
    model: type[models.Model]
    finished_field: str
    # Running rows whose lease passed: either the lease's end, or its start plus the lease length.
    lease_end_field: str | None = None
    lease_start_field: str | None = None
    lease_seconds: float = 0.0

    def changelist(self, **params: object) -> str:
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        return f"{url}?{urlencode({key: _param(value) for key, value in params.items()})}" if params else url

    def past_lease(self, now: datetime) -> tuple[Q, dict[str, object]]:
        if self.lease_end_field:
            return Q(**{f"{self.lease_end_field}__lt": now}), {f"{self.lease_end_field}__lt": now}
        cutoff = now - timedelta(seconds=self.lease_seconds)
        return Q(**{f"{self.lease_start_field}__lt": cutoff}), {f"{self.lease_start_field}__lt": cutoff}


def _param(value: object) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else str(value)


def _watched() -> tuple[Watched, ...]:
    return (
        Watched("Analyses", AIResponse, "finished_at", lease_end_field="lease_expires_at"),
        Watched("Cover letters", CoverLetter, "finished_at", lease_end_field="lease_expires_at"),
        Watched(
            "PDF documents",
            Document,
            "finished_at",
            lease_start_field="started_at",
            lease_seconds=settings.PDF_RENDER_LEASE_SECONDS,
        ),
    )


@dataclass(frozen=True)
class FailedSection:
    title: str
    total: Link
    codes: list[Link]


@dataclass(frozen=True)
class WaitingSection:
    title: str
    pending: Link
    oldest_pending: datetime | None
    running: Link
    past_lease: Link


def failed_by_code(now: datetime) -> list[FailedSection]:
    """One query per kind: failures that ended in the last 24 hours, counted per error code."""
    since = now - FAILED_WINDOW
    sections = []
    for watched in _watched():
        window = {"status__exact": "failed", f"{watched.finished_field}__gte": since}
        rows = list(
            watched.model._default_manager.filter(status="failed", **{f"{watched.finished_field}__gte": since})
            .values("error_code")
            .annotate(count=Count("pk"))
            .order_by("-count", "error_code")
        )
        codes = [
            Link(
                row["error_code"] or "(no code)",
                row["count"],
                watched.changelist(**window, error_code=row["error_code"]),
            )
            for row in rows[:MAX_CODES]
        ]
        if len(rows) > MAX_CODES:
            codes.append(
                Link("other codes", sum(row["count"] for row in rows[MAX_CODES:]), watched.changelist(**window))
            )
        total = Link("failed in 24 h", sum(row["count"] for row in rows), watched.changelist(**window))
        sections.append(FailedSection(watched.title, total, codes))
    return sections


def waiting_longest(now: datetime) -> list[WaitingSection]:
    """One query per kind: how many wait and since when, how many run and how many of those are past their
    lease (a worker died or hangs; the sweep takes them back)."""
    sections = []
    for watched in _watched():
        past, past_params = watched.past_lease(now)
        figures = watched.model._default_manager.aggregate(
            pending=Count("pk", filter=Q(status="pending")),
            oldest=Min("created_at", filter=Q(status="pending")),
            running=Count("pk", filter=Q(status="running")),
            past_lease=Count("pk", filter=Q(status="running") & past),
        )
        sections.append(
            WaitingSection(
                title=watched.title,
                pending=Link(
                    "waiting", figures["pending"], watched.changelist(status__exact="pending", o="created_at")
                ),
                oldest_pending=figures["oldest"],
                running=Link("running", figures["running"], watched.changelist(status__exact="running")),
                past_lease=Link(
                    "running past their lease",
                    figures["past_lease"],
                    watched.changelist(status__exact="running", **past_params),
                ),
            )
        )
    return sections


def stripe_events(now: datetime) -> list[Link]:
    """One query: failed events (retried by beat), those beat gave up on (waiting for "process again"), and
    stored events not processed after a few minutes."""
    stale = now - timedelta(minutes=5)
    figures = StripeEvent.objects.aggregate(
        failed=Count("pk", filter=Q(status=StripeEvent.Status.FAILED, next_attempt_at__isnull=False)),
        gave_up=Count("pk", filter=Q(status=StripeEvent.Status.FAILED, next_attempt_at__isnull=True)),
        waiting=Count("pk", filter=Q(status=StripeEvent.Status.RECEIVED, received_at__lt=stale)),
    )
    url = reverse("admin:core_stripeevent_changelist")
    return [
        Link("failed, retried by beat", figures["failed"], f"{url}?status__exact=failed&next_attempt_at__isnull=False"),
        Link(
            'failed, waiting for "Process again"',
            figures["gave_up"],
            f"{url}?status__exact=failed&next_attempt_at__isnull=True",
        ),
        Link(
            "received, not processed after 5 minutes",
            figures["waiting"],
            f"{url}?{urlencode({'status__exact': 'received', 'received_at__lt': _param(stale)})}",
        ),
    ]


def front_page() -> dict[str, object]:
    now = timezone.now()
    depths = metrics.queue_depths()
    return {
        "failed": failed_by_code(now),
        "waiting": waiting_longest(now),
        "stripe_events": stripe_events(now),
        "queues": sorted(depths.items()) if depths is not None else None,
        "cost_today": costs.money(costs.cost_today(now)),
        "cost_url": reverse("admin:core_modelcall_totals") + "?by=user&days=1",
        "now": now,
    }
