"""Progress people can see: the share of the model's answer written so far, while a streaming server writes it.

The LLM door (cv.llm.server) asks the server to stream (OPENAI_STREAM) and hands the stream to ``read_stream``, which
puts the pieces together into the shape of a whole completion and, for each piece, counts the characters
written against the answer's expected length:

- what the caller says (``expecting``): the CV's length for a whole rewrite, the words asked for a letter;
- part by part (cv.llm.piecewise: ``planned``, ``plan``, ``part``): the share of all parts, each weighted by its
  size, never going back when a part is asked again;
- otherwise the length of the model's previous answer in the conversation (a corrective retry or a repair
  round rewrites that answer). A call with none of these (reading the job) reports no share.

The share is stored on the running job's row (``progress``) only inside ``reporting`` (the job runner's work,
cv.jobs): at most one UPDATE per WRITE_INTERVAL_SECONDS per job, each conditional on the run still holding the
job's lease (status running, its lease token, the lease not passed); once one finds the lease lost, the run
writes no more. It never reads above MAX_SHARE before the job ends: the expected length is an estimate. A job
that succeeds reads 1.0; one that fails keeps its last share; a new attempt starts at null.

Whether the server streams (and sends usage in its last piece) is remembered per server and model, as the
answer's form is (cv.llm.server): a server that refuses ``stream`` or ``stream_options`` is asked again without it.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core import jobs

logger = logging.getLogger(__name__)

# At most one progress UPDATE per job this often.
WRITE_INTERVAL_SECONDS = 1.0
# A share that moved less than this since the last write is not written again.
_MIN_STEP = 0.01
# The expected length is an estimate: until the job succeeds, it never reads as finished.
MAX_SHARE = 0.99
# A letter of N words is about this many characters (a word and its space or punctuation, Markdown).
CHARS_PER_WORD = 6.5
# Remembered as the answer's form is: a server that refused streaming is asked without it for this long.
MEMORY_SECONDS = 6 * 3600

STREAM_WITH_USAGE = "usage"  # stream=True, stream_options={"include_usage": True}
STREAM_PLAIN = "plain"  # stream=True only
STREAM_OFF = "off"  # no streaming: a whole answer, no share
_STREAM_FORMS = (STREAM_WITH_USAGE, STREAM_PLAIN, STREAM_OFF)
_NAMES_STREAM = re.compile(r"\bstream\b")
_NAMES_STREAM_OPTIONS = re.compile(r"\bstream_options\b|\binclude_usage\b")
_NEVER_A_REFUSAL = (401, 403, 404, 408, 409, 429)


@dataclass
class _Plan:
    """An answer written in several calls (cv.llm.piecewise): ``total`` characters of parts, ``done`` finished."""

    total: int
    done: int = 0
    current: int = 0


@dataclass
class _Reporter:
    """The running job whose row shows the share, and what it is writing now."""

    kind: jobs.JobKind
    job: Any
    expected: int | None = None
    plan: _Plan | None = None
    floor: float = 0.0
    written: float | None = None
    last_write: float = field(default=float("-inf"))
    lost: bool = False

    def begin_call(self, default_expected: int | None) -> tuple[float, float, int] | None:
        """(base, weight, expected characters) of the call about to stream, or None: no share to report."""
        plan = self.plan
        if plan is not None and plan.total > 0 and plan.current > 0:
            return plan.done / plan.total, plan.current / plan.total, plan.current
        self.floor = 0.0
        expected = self.expected or default_expected
        return (0.0, 1.0, expected) if expected else None

    def report(self, share: float) -> None:
        share = min(MAX_SHARE, max(share, self.floor, 0.0))
        self.floor = share
        if self.lost:
            return
        now = time.monotonic()
        if now - self.last_write < WRITE_INTERVAL_SECONDS:
            return
        if self.written is not None and abs(share - self.written) < _MIN_STEP:
            return
        self.last_write = now
        kind = self.kind
        try:
            updated = kind.objects.filter(
                kind.held(timezone.now()), pk=self.job.pk, **{kind.token_field: getattr(self.job, kind.token_field)}
            ).update(progress=round(share, 3))
        except Exception:
            # Progress is a courtesy: a failed write never fails the model call. The job's own writes will tell.
            logger.warning("progress write failed id=%s", self.job.pk, exc_info=True)
            self.lost = True
            return
        if not updated:
            logger.info("progress: job id=%s no longer held by this run; no more writes", self.job.pk)
            self.lost = True
            return
        self.written = share


_current: contextvars.ContextVar[_Reporter | None] = contextvars.ContextVar("cv_progress", default=None)

Work = TypeVar("Work", bound=Callable[..., Any])


def reported(kind: jobs.JobKind, work: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """A job's work (core.jobs.JobSpec.work) that shows, on the job's row, the share written of each answer a
    streaming model writes during it, and stores 1.0 with the fields of a success."""

    @functools.wraps(work)
    def run(job: Any) -> dict[str, Any]:
        with reporting(kind, job):
            fields = work(job)
        return {**fields, "progress": 1.0}

    return run


@contextmanager
def reporting(kind: jobs.JobKind, job: Any) -> Iterator[None]:
    """Within this block, streamed answers report their share on ``job``'s row (held by this run)."""
    token = _current.set(_Reporter(kind=kind, job=job))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def expecting(chars: int) -> Iterator[None]:
    """The answers asked for in this block are expected to be about ``chars`` characters long."""
    reporter = _current.get()
    if reporter is None:
        yield
        return
    saved = reporter.expected, reporter.plan
    reporter.expected, reporter.plan = max(1, int(chars)), None
    try:
        yield
    finally:
        reporter.expected, reporter.plan = saved


def letter_chars(words: int) -> int:
    """The expected length of a letter of ``words`` words."""
    return int(words * CHARS_PER_WORD)


def planned(function: Work) -> Work:
    """A function that writes an answer in parts (``plan``, ``part``): its plan ends when it returns."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        reporter = _current.get()
        if reporter is None:
            return function(*args, **kwargs)
        saved = reporter.expected, reporter.plan
        try:
            return function(*args, **kwargs)
        finally:
            reporter.expected, reporter.plan = saved

    return run  # type: ignore[return-value]


def plan(total_chars: int) -> None:
    """The answer is written in parts of ``total_chars`` characters in all (inside a ``planned`` function)."""
    reporter = _current.get()
    if reporter is not None:
        reporter.plan = _Plan(total=max(0, int(total_chars)))
        reporter.floor = 0.0


def part(chars: int) -> None:
    """The previous part is done; the next calls write a part of about ``chars`` characters."""
    reporter = _current.get()
    if reporter is not None and reporter.plan is not None:
        reporter.plan.done += reporter.plan.current
        reporter.plan.current = max(0, int(chars))


def _previous_answer_chars(messages: Sequence[Mapping[str, Any]]) -> int | None:
    """The length of the model's last answer in the conversation: a retry or a repair rewrites it."""
    answers = [len(str(message.get("content") or "")) for message in messages if message.get("role") == "assistant"]
    return answers[-1] if answers and answers[-1] else None


# The stream: asked for, refused, read.


def _memory_key(server: str) -> str:
    digest = hashlib.sha256(f"{server.rstrip('/')}|{settings.OPENAI_MODEL}".encode()).hexdigest()[:32]
    return f"llm:stream-form:{digest}"


def stream_form(server: str) -> str:
    """How to ask ``server`` for a stream now: STREAM_WITH_USAGE, STREAM_PLAIN or STREAM_OFF."""
    if not settings.OPENAI_STREAM:
        return STREAM_OFF
    try:
        remembered = cache.get(_memory_key(server))
    except Exception:
        logger.warning("llm stream form cache unavailable", exc_info=True)
        remembered = None
    return remembered if remembered in _STREAM_FORMS else STREAM_WITH_USAGE


def stream_kwargs(form: str) -> dict[str, Any]:
    """The request parameters of a stream form."""
    if form == STREAM_WITH_USAGE:
        return {"stream": True, "stream_options": {"include_usage": True}}
    if form == STREAM_PLAIN:
        return {"stream": True}
    return {}


def after_refusal(exc: Any, *, form: str, server: str) -> str | None:
    """The stream form to ask with after ``exc``, when it refuses the streaming parameters (remembered for
    the server); None when it is about something else. ``exc``: the SDK's APIStatusError (only cv.llm.server imports
    the SDK)."""
    if form == STREAM_OFF or exc.status_code in _NEVER_A_REFUSAL or exc.status_code < 400:
        return None
    parts = [str(getattr(exc, "message", "") or ""), str(exc.body)]
    text = " ".join(parts).lower()
    if form == STREAM_WITH_USAGE and _NAMES_STREAM_OPTIONS.search(text):
        step = STREAM_PLAIN
    elif _NAMES_STREAM.search(text):
        step = STREAM_OFF
    else:
        return None
    try:
        cache.set(_memory_key(server), step, MEMORY_SECONDS)
    except Exception:
        logger.warning("llm stream form cache unavailable", exc_info=True)
    logger.info("llm server refused streaming form=%s; asking again with form=%s", form, step)
    return step


def read_stream(
    stream: Any, *, messages: Sequence[Mapping[str, Any]], timeout: float, timed_out: Callable[..., Exception]
) -> SimpleNamespace:
    """A streamed chat completion read to its end, in the shape of a whole one (``choices[0].message`` with
    ``content`` and ``refusal``, ``finish_reason``, ``model``, ``usage``), the share written reported as it
    comes. ``timeout`` bounds the whole answer (the client's own timeout bounds only each wait between
    pieces): past it, ``timed_out(request=...)`` is raised (the SDK's APITimeoutError). Other errors are the
    SDK's own: a stalled or broken stream raises APITimeoutError or APIConnectionError, an error event APIError."""
    reporter = _current.get()
    call = reporter.begin_call(_previous_answer_chars(messages)) if reporter is not None else None
    deadline = time.monotonic() + timeout
    content: list[str] = []
    refusal: list[str] = []
    finish_reason: str | None = None
    model: str | None = None
    usage: Any = None
    written = 0
    # The SDK turns a broken or stalled stream into its own errors (APITimeoutError, APIConnectionError).
    request: Any = getattr(getattr(stream, "response", None), "request", None)
    try:
        for chunk in stream:
            model = getattr(chunk, "model", None) or model
            usage = getattr(chunk, "usage", None) or usage
            for choice in getattr(chunk, "choices", None) or []:
                if getattr(choice, "index", 0) != 0:
                    continue
                delta = getattr(choice, "delta", None)
                piece = getattr(delta, "content", None) or ""
                content.append(piece)
                written += len(piece)
                refusal.append(getattr(delta, "refusal", None) or "")
                finish_reason = getattr(choice, "finish_reason", None) or finish_reason
            if call is not None and reporter is not None and written:
                base, weight, expected = call
                reporter.report(base + weight * min(1.0, written / expected))
            if time.monotonic() > deadline:
                raise timed_out(request=request)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    choices = []
    if content or finish_reason:
        message = SimpleNamespace(content="".join(content), refusal="".join(refusal) or None)
        choices.append(SimpleNamespace(message=message, finish_reason=finish_reason))
    return SimpleNamespace(choices=choices, model=model, usage=usage)
