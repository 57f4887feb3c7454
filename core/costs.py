"""What the model costs: every answered request is one ``ModelCall`` row with its tokens and its cost, charged
to the job being run (``core.request_context.current_job``: an analysis or a cover letter, repair rounds and
corrective retries included, since each is a request of its own), its owner and the owner's plan. Calls made
outside a job (the evaluation command) are not stored.

Prices come from ``settings.LLM_PRICES``: per model, US dollars per million input (prompt) and output
(completion) tokens, as providers publish them. A model the server names with a suffix
(``gpt-4o-mini-2024-07-18``) takes the price of the longest configured name it starts with. A model with no
price gets a row with its tokens and no cost, and reports count it as unpriced.

The totals per day, person, plan or model are ``cost_totals`` (``manage.py model_costs`` and the admin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core import metrics, request_context
from core.models import ModelCall, User

logger = logging.getLogger(__name__)

MILLION = Decimal(1_000_000)
COST_PLACES = Decimal("0.00000001")
GROUPINGS = ("day", "user", "plan", "model")


def price_for(model: str) -> tuple[Decimal, Decimal] | None:
    """(input, output) dollars per million tokens for ``model``, or None when no price is configured."""
    prices: dict[str, tuple[Decimal, Decimal]] = settings.LLM_PRICES
    if model in prices:
        return prices[model]
    prefixes = [name for name in prices if model.startswith(name)]
    return prices[max(prefixes, key=len)] if prefixes else None


def cost_of(*, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    price = price_for(model)
    if price is None:
        return None
    per_input, per_output = price
    return ((prompt_tokens * per_input + completion_tokens * per_output) / MILLION).quantize(COST_PLACES)


def model_call_record(*, model: str, mode: str, prompt_tokens: int | None, completion_tokens: int | None) -> None:
    """Store one answered request against the job being run. Outside a job (``manage.py evaluate_model``)
    nothing is stored. Never fails the job: a row that cannot be written is logged and left out."""
    job = request_context.current_job()
    if job is None:
        return
    user_id = getattr(job, "user_id", None)
    prompt, completion = prompt_tokens or 0, completion_tokens or 0
    try:
        with transaction.atomic():
            plan = ""
            if user_id is not None:
                plan = User.objects.filter(pk=user_id).values_list("plan__slug", flat=True).first() or "free"
            ModelCall.objects.create(
                user_id=user_id,
                plan=plan,
                job_kind=metrics.JOB_KINDS.get(job._meta.label_lower, ""),
                job_id=job.pk,
                model=model[:100],
                mode=mode,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=cost_of(model=model, prompt_tokens=prompt, completion_tokens=completion),
                request_id=request_context.current_request_id() or "",
            )
    except DatabaseError:
        logger.warning("model call not recorded model=%s tokens=%s+%s", model[:100], prompt, completion, exc_info=True)


@dataclass(frozen=True)
class CostRow:
    key: Any
    label: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    unpriced_calls: int


def _since(days: int, now: datetime | None = None) -> datetime:
    """The start of the period: midnight (UTC) ``days - 1`` days ago, so ``days=1`` is today."""
    today = (now or timezone.now()).astimezone(timezone.get_current_timezone()).date()
    start = today - timedelta(days=max(days, 1) - 1)
    return timezone.make_aware(datetime.combine(start, datetime.min.time()))


def cost_totals(*, days: int = 30, by: str = "day", now: datetime | None = None) -> list[CostRow]:
    """Calls, tokens and cost of the last ``days`` days (today included), per ``by`` (day, user, plan or
    model), the most expensive first (``day``: the newest first)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    calls = ModelCall.objects.filter(created_at__gte=_since(days, now))
    key = {"day": TruncDate("created_at"), "user": F("user_id"), "plan": F("plan"), "model": F("model")}[by]
    rows = (
        calls.annotate(key=key)
        .values("key")
        .annotate(
            calls=Count("id"),
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            total=Sum("cost"),
            unpriced=Count("id", filter=Q(cost__isnull=True)),
        )
        .order_by("-key" if by == "day" else "-total", "key")
    )
    names = {}
    if by == "user":
        ids = [row["key"] for row in rows if row["key"] is not None]
        names = dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))
    return [
        CostRow(
            key=row["key"],
            label=_label(by, row["key"], names),
            calls=row["calls"],
            prompt_tokens=row["prompt"] or 0,
            completion_tokens=row["completion"] or 0,
            cost=row["total"] or Decimal(0),
            unpriced_calls=row["unpriced"],
        )
        for row in rows
    ]


def _label(by: str, key: Any, names: dict[int, str]) -> str:
    if key is None or key == "":
        return "(deleted account)" if by == "user" else "(none)"
    if by == "user":
        return f"{names.get(key, '?')} (#{key})"
    if isinstance(key, date):
        return key.isoformat()
    return str(key)


def cost_today(now: datetime | None = None) -> Decimal:
    return ModelCall.objects.filter(created_at__gte=_since(1, now)).aggregate(total=Sum("cost"))["total"] or Decimal(0)


def money(amount: Decimal | None, places: int = 4) -> str:
    """A cost as dollars: a model call costs fractions of a cent, so four decimals by default."""
    if amount is None:
        return "-"
    return f"${amount.quantize(Decimal(1).scaleb(-places)):,}"
