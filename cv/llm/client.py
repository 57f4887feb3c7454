"""The one door to the LLM: an analysis, a conversation or a JSON object asked of any OpenAI-compatible server.

The door has three rooms: cv.llm.prompt builds what is sent (the prompt, the job and the CV in labelled
data-only blocks, contact details replaced by placeholders), cv.llm.server sends it (in the strongest answer
form the server accepts) and cv.llm.sdk_errors reads the SDK's errors: those two are the only importers of
``openai``. cv.llm.answers reads what comes back (reasoning blocks dropped first, a CV in plain Markdown accepted). The
errors are cv.llm.errors'.

The client never retries by itself (``max_retries=0``): the job runner (core.jobs) owns retries, so a retry
survives a worker restart and back-off does not hold a worker busy. SDK errors become ``LLMTransientError``
(worth retrying later) or ``LLMPermanentError`` (retrying cannot help); both carry a message fit to show the
person in the response's ``error``.

Doors for other features: ``complete_cv`` (a conversation in, an improved CV out; the truthfulness repair
round calls it again with one more instruction), ``complete_json`` (a system prompt, user content and a
JSON schema in, the JSON object out; cover letters, the model's reading of a job) and ``complete_text`` (a
short plain answer; the part-by-part rewrite). All replace contact details by placeholders before sending
and put them back in the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from cv import progress
from cv.llm.answers import MAX_CHANGES, find_json_object, read_cv_answer
from cv.llm.errors import LLMPermanentError, LLMTruncatedError
from cv.llm.prompt import CV_FORMAT, CV_SCHEMA, CV_SCHEMA_NAME, Redactions, build_messages, cap_cv_text
from cv.llm.server import MODE_OBJECT, MODE_PROMPT, MODE_SCHEMA, complete
from cv.scoring.job import Job

# How many characters of CV an answer of OPENAI_MAX_OUTPUT_TOKENS tokens can hold: a bit under the usual
# ~4 characters per token, for the Markdown, the JSON escaping and the list of changes.
_CHARS_PER_OUTPUT_TOKEN = 3.5


@dataclass(frozen=True)
class AnalysisResult:
    improved_cv_markdown: str
    changes: list[str]
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    # The text the match report scores as "the improved CV"; None means improved_cv_markdown itself.
    scoring_text: str | None = field(default=None)
    # The text the model wrote, which the truthfulness check judges; None means improved_cv_markdown itself.
    # A part-by-part rewrite (cv.llm.piecewise) sets it: the rest of its CV is the person's own lines, as written.
    model_text: str | None = field(default=None)
    finish_reason: str = "stop"
    # The conversation that produced this answer, contact details included (they are replaced on every
    # send): a repair round appends the answer and an instruction and calls complete_cv again.
    messages: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class LLMResult:
    """An improved CV read from the model's answer (reasoning dropped, contact details restored)."""

    improved_cv: str
    changes: list[str]
    model: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # How the shape was asked for: json_schema, json_object or prompt.
    mode: str = MODE_SCHEMA
    # Whether the answer was the requested JSON (False: a Markdown CV taken as it was).
    structured: bool = True


@dataclass(frozen=True)
class JSONResult:
    """complete_json's answer: ``data`` is the JSON object found in ``text``, or None if there was none."""

    text: str
    data: dict[str, Any] | None
    model: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    mode: str = MODE_SCHEMA


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


def analyse(
    *,
    job: Job,
    cv_text: str,
    prompt: str,
    surface: Sequence[tuple[str, str]] = (),
) -> AnalysisResult:
    """Ask the configured model for an improved CV (``surface``: see build_messages). Raises
    LLMTransientError or LLMPermanentError."""
    capped = cap_cv_text(cv_text)
    messages = build_messages(job=job, cv_text=cv_text, prompt=prompt, surface=surface)
    try:
        with progress.expecting(len(capped.text)):  # the improved CV is about as long as the CV
            result = complete_cv(messages=messages)
    except LLMTruncatedError as exc:
        holds = int(settings.OPENAI_MAX_OUTPUT_TOKENS * _CHARS_PER_OUTPUT_TOKEN)
        if capped.capped or len(capped.text) > holds:
            # The person's own CV is longer than an answer can be: trying again gives the same cut.
            raise LLMPermanentError(
                f"Your CV is too long to be rewritten in one answer: its text has {capped.original_chars:,} "
                f"characters and an answer holds about {holds:,}. Shorten it (for example, older roles in "
                "one line each) and try again. This analysis counts towards today's quota.",
                code="cv_too_long",
                refund=False,
            ) from exc
        raise
    changes = list(result.changes)
    if capped.capped:
        changes.insert(
            0,
            f"Only the first {len(capped.text):,} of your CV's {capped.original_chars:,} characters were sent "
            "to the AI; what came after is not in the improved CV.",
        )
    return AnalysisResult(
        improved_cv_markdown=result.improved_cv,
        changes=changes[:MAX_CHANGES],
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        finish_reason=result.finish_reason,
        messages=tuple(messages),
    )


def complete_cv(*, messages: Sequence[Mapping[str, str]]) -> LLMResult:
    """Send a conversation that asks for an improved CV; read the CV and its changes from the answer.

    ``messages`` are chat messages ({"role", "content"}) with contact details in clear: they are replaced by
    placeholders on the way out and restored in the answer. Raises LLMTransientError, LLMPermanentError or
    LLMTruncatedError (the answer hit OPENAI_MAX_OUTPUT_TOKENS before its end).
    """
    redactions = Redactions()
    sent = [{"role": m["role"], "content": redactions.redact(str(m["content"]))} for m in messages]
    answer = complete(sent, schema_name=CV_SCHEMA_NAME, schema=CV_SCHEMA, formats=CV_FORMAT)
    try:
        improved, changes, structured = read_cv_answer(answer.text)
    except LLMPermanentError as exc:
        if answer.finish_reason == "length":
            raise _truncated() from exc
        raise
    if answer.finish_reason == "length" and not structured:
        # A complete JSON object is a whole answer; a Markdown CV that hit the bound has lost its end.
        raise _truncated()
    return LLMResult(
        improved_cv=redactions.restore(improved),
        changes=[redactions.restore(change) for change in changes],
        model=answer.model,
        finish_reason=answer.finish_reason,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        mode=answer.mode,
        structured=structured,
    )


def complete_json(
    *,
    system: str,
    user: str,
    schema: Mapping[str, Any],
    schema_name: str,
    prompt_format: str,
    max_tokens: int | None = None,
) -> JSONResult:
    """Ask for one JSON object matching ``schema`` (strict where the server supports it).

    Where the server enforces the schema, the schema alone describes the answer; in JSON-object mode it is
    spelled out in the system prompt; a server with neither gets ``prompt_format`` (e.g. "answer with the
    letter in Markdown") and its answer is ``text`` with ``data`` None. ``data`` is also None when the
    model answered something else (the caller may use ``text``, e.g. as Markdown). Contact
    details are replaced and restored as in complete_cv. Raises like complete_cv; an answer with no JSON
    that hit the output bound is LLMTruncatedError.
    """
    redactions = Redactions()
    formats = {
        MODE_SCHEMA: "",
        MODE_OBJECT: "Answer with one JSON object and nothing else, matching this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":")),
        MODE_PROMPT: prompt_format,
    }
    sent = [
        {"role": "system", "content": redactions.redact(system)},
        {"role": "user", "content": redactions.redact(user)},
    ]
    answer = complete(sent, schema_name=schema_name, schema=schema, formats=formats, max_tokens=max_tokens)
    text = answer.text.strip()
    if not text:
        if answer.finish_reason == "length":
            raise _truncated()
        raise LLMPermanentError("The AI service returned an empty answer.", code="empty_answer")
    data = find_json_object(text, accept=lambda parsed: True)
    if data is None and answer.finish_reason == "length":
        raise _truncated()
    return JSONResult(
        text=redactions.restore(text),
        data=redactions.restore_data(data) if data is not None else None,
        model=answer.model,
        finish_reason=answer.finish_reason,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        mode=answer.mode,
    )


@dataclass(frozen=True)
class TextResult:
    """complete_text's answer: plain text, reasoning dropped and contact details restored."""

    text: str
    model: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def complete_text(*, system: str, user: str, max_tokens: int) -> TextResult:
    """Ask for a short plain-text answer (a CV section rewritten, cv.llm.piecewise): no structured output
    whatever the server supports, at most ``max_tokens`` (and never past OPENAI_MAX_OUTPUT_TOKENS). Contact
    details are replaced and restored as in complete_cv. Raises LLMTransientError or LLMPermanentError; an
    answer cut at the bound is returned with finish_reason "length" for the caller to judge."""
    redactions = Redactions()
    sent = [
        {"role": "system", "content": redactions.redact(system)},
        {"role": "user", "content": redactions.redact(user)},
    ]
    answer = complete(sent, schema_name="text", schema={}, formats={}, text_only=True, max_tokens=max_tokens)
    return TextResult(
        text=redactions.restore(answer.text.strip()),
        model=answer.model,
        finish_reason=answer.finish_reason,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
    )


def _truncated() -> LLMTruncatedError:
    return LLMTruncatedError(
        "The AI service's answer was cut off before the end. This was not caused by your CV, and this "
        "analysis does not count towards your quota.",
        code="answer_truncated",
    )
