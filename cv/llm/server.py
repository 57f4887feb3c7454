"""The request to an OpenAI-compatible server: the answer's form asked for in the strongest form the server
accepts (a strict JSON schema, else JSON-object mode, else the prompt alone), a refused form asked again at
once in the next one, the form that worked remembered per base URL and model, and each call observed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openai
from django.conf import settings
from django.core.cache import cache

from core import costs, metrics, request_context
from cv import progress
from cv.llm.answers import strip_reasoning
from cv.llm.errors import LLMError, LLMPermanentError
from cv.llm.sdk_errors import error_text, map_error

logger = logging.getLogger(__name__)

MODE_SCHEMA = "json_schema"

MODE_OBJECT = "json_object"

MODE_PROMPT = "prompt"

_MODES = (MODE_SCHEMA, MODE_OBJECT, MODE_PROMPT)

_TOKEN_PARAMS = ("max_completion_tokens", "max_tokens")

# Long enough to save a refused request on almost every call, short enough that a server upgraded to
# support structured output gets asked for it again the same day.
MODE_MEMORY_SECONDS = 6 * 3600

# Each refusal changes one thing (the answer's form, the name of the length bound, or streaming): a handful
# of requests covers every combination.
_MAX_REQUESTS_PER_CALL = 8


@dataclass(frozen=True)
class _Answer:
    text: str
    model: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None
    mode: str


def _client() -> openai.OpenAI:
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.OPENAI_TIMEOUT,
        max_retries=0,
    )


def _server_url() -> str:
    return (settings.OPENAI_BASE_URL or "https://api.openai.com/v1").rstrip("/")


def mode_memory_key(*, base_url: str | None = None, model: str | None = None) -> str:
    """The cache key under which the working request form for a server and model is kept."""
    server = (base_url or _server_url()).rstrip("/")
    digest = hashlib.sha256(f"{server}|{model or settings.OPENAI_MODEL}".encode()).hexdigest()[:32]
    return f"llm:request-form:{digest}"


def recall_form() -> tuple[str, str]:
    default_tokens = "max_completion_tokens" if "api.openai.com" in _server_url() else "max_tokens"
    try:
        remembered = cache.get(mode_memory_key())
    except Exception:
        # The cache is an optimisation: without it the first request may be refused once more.
        logger.warning("llm request form cache unavailable", exc_info=True)
        remembered = None
    if isinstance(remembered, dict) and remembered.get("mode") in _MODES and remembered.get("tokens") in _TOKEN_PARAMS:
        return remembered["mode"], remembered["tokens"]
    return settings.OPENAI_ANSWER_FORM, default_tokens


def _remember_form(mode: str, tokens: str) -> None:
    try:
        cache.set(mode_memory_key(), {"mode": mode, "tokens": tokens}, MODE_MEMORY_SECONDS)
    except Exception:
        logger.warning("llm request form cache unavailable", exc_info=True)


def _response_format(mode: str, schema_name: str, schema: Mapping[str, Any]) -> dict[str, Any] | None:
    if mode == MODE_SCHEMA:
        return {"type": "json_schema", "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True}}
    if mode == MODE_OBJECT:
        return {"type": "json_object"}
    return None


def _with_format(messages: list[dict[str, str]], instruction: str) -> list[dict[str, str]]:
    """The conversation with the answer's form for this request form added to its system message."""
    if not instruction or not messages or messages[0]["role"] != "system":
        return messages
    first = {"role": "system", "content": f"{messages[0]['content'].rstrip()}\n\n{instruction}"}
    return [first, *messages[1:]]


def complete(
    messages: list[dict[str, str]],
    *,
    schema_name: str,
    schema: Mapping[str, Any],
    formats: Mapping[str, str],
    text_only: bool = False,
    max_tokens: int | None = None,
) -> _Answer:
    """One logical call: as many requests as it takes to find a form the server accepts. ``formats`` gives,
    per request form, the instruction that says what form the answer takes. ``text_only``: the answer is
    plain text whatever form the server was found to accept (only the token parameter's name is learnt)."""
    remembered_mode, tokens = recall_form()
    mode = MODE_PROMPT if text_only else remembered_mode
    tried = {(mode, tokens)}
    client = _client()
    streaming = progress.stream_form(_server_url())  # cv.progress: the share written, shown while it streams
    for _ in range(_MAX_REQUESTS_PER_CALL):
        kwargs: dict[str, Any] = {
            "model": settings.OPENAI_MODEL,
            "messages": _with_format(messages, formats.get(mode, "")),
            tokens: min(max_tokens or settings.OPENAI_MAX_OUTPUT_TOKENS, settings.OPENAI_MAX_OUTPUT_TOKENS),
        }
        response_format = _response_format(mode, schema_name, schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        request_id = request_context.current_request_id()
        if request_id:
            # The model server's own logs can then be joined to ours.
            kwargs["extra_headers"] = {"X-Request-ID": request_id}
        kwargs.update(progress.stream_kwargs(streaming))
        started = time.perf_counter()
        try:
            completion = client.chat.completions.create(**kwargs)
            if streaming != progress.STREAM_OFF:
                completion = progress.read_stream(
                    completion, messages=messages, timeout=settings.OPENAI_TIMEOUT, timed_out=openai.APITimeoutError
                )
        except openai.APIStatusError as exc:
            stream_step = progress.after_refusal(exc, form=streaming, server=_server_url())
            if stream_step is not None:
                _observe(mode, "refused", started)
                streaming = stream_step
                continue
            step = _after_refusal(exc, mode=mode, tokens=tokens, tried=tried) if _may_be_refusal(exc) else None
            if step is None:
                error = map_error(exc)
                _observe(mode, error.code, started)
                logger.warning("llm call failed: %s (%s)", type(exc).__name__, error.code)
                raise error from exc
            _observe(mode, "refused", started)
            logger.info("llm server refused mode=%s %s; asking again with mode=%s %s", mode, tokens, step[0], step[1])
            mode, tokens = step
            tried.add(step)
            # Remembered now, not after an answer: a transient error on the next request must not make
            # the retry start with the refused form again. A plain-text call learns only the token name.
            _remember_form(remembered_mode if text_only else mode, tokens)
            continue
        except openai.OpenAIError as exc:
            error = map_error(exc)
            _observe(mode, error.code, started)
            logger.warning("llm call failed: %s (%s)", type(exc).__name__, error.code)
            raise error from exc
        try:
            answer = _read_completion(completion, mode=mode)
        except LLMError as error:
            _observe(mode, error.code, started)
            raise
        _observe(mode, "ok", started, answer)
        return answer
    raise LLMPermanentError(
        "The AI service refused every form of the request (structured output, JSON mode and plain prompt).",
        code="bad_request",
    )


def _observe(mode: str, outcome: str, started: float, answer: _Answer | None = None) -> None:
    """Count one request to the model server (core.metrics) and store an answered one with its tokens and
    cost, charged to the job being run (core.costs)."""
    metrics.model_call_observed(
        mode=mode,
        outcome=outcome,
        seconds=time.perf_counter() - started,
        prompt_tokens=answer.prompt_tokens if answer else None,
        completion_tokens=answer.completion_tokens if answer else None,
    )
    if answer is not None:
        costs.model_call_record(
            model=answer.model,
            mode=mode,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )


_NAMES_FORMAT = ("response_format", "json_schema", "json_object", "structured output", "schema", "grammar", "guided")

_SAYS_UNSUPPORTED = (
    "unsupported",
    "not supported",
    "unknown",
    "unrecognized",
    "unrecognised",
    "not permitted",
    "not allowed",
    "extra inputs",
    "extra fields",
    "invalid parameter",
    "unexpected",
)

# Request parameters a server may not support. A 400/422 is read as a refusal whatever it names; any other
# status only when its body names one of these: llama-cpp-python's server answers a json_schema
# response_format with a 500 ("Input should be 'text' or 'json_object'"), which is no transient fault.
_REFUSABLE_PARAMS = ("response_format", "json_schema", "json_object", *_TOKEN_PARAMS)

_NEVER_A_REFUSAL = (401, 403, 404, 408, 409, 429)


def _may_be_refusal(exc: openai.APIStatusError) -> bool:
    if exc.status_code in (400, 422):
        return True
    if exc.status_code in _NEVER_A_REFUSAL:
        return False
    text = error_text(exc)
    return any(param in text for param in _REFUSABLE_PARAMS)


def _after_refusal(
    exc: openai.APIStatusError, *, mode: str, tokens: str, tried: set[tuple[str, str]]
) -> tuple[str, str] | None:
    """The next request form after a refusal, or None when the refusal is about something else."""
    if map_error(exc).code in ("content_refused", "too_long"):
        return None
    text = error_text(exc)
    other_tokens = _TOKEN_PARAMS[1] if tokens == _TOKEN_PARAMS[0] else _TOKEN_PARAMS[0]
    next_mode = _MODES[_MODES.index(mode) + 1] if mode != MODE_PROMPT else None
    candidates: list[tuple[str, str]] = []
    if tokens in text:
        candidates.append((mode, other_tokens))
    names_format = any(word in text for word in _NAMES_FORMAT)
    unsupported = any(word in text for word in _SAYS_UNSUPPORTED)
    if next_mode and (names_format or unsupported):
        candidates.append((next_mode, tokens))
    if unsupported and not names_format:
        candidates.append((mode, other_tokens))
    return next((candidate for candidate in candidates if candidate not in tried), None)


def _read_completion(completion: Any, *, mode: str) -> _Answer:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise LLMPermanentError("The AI service returned an empty answer.", code="empty_answer")
    choice = choices[0]
    message = choice.message
    if choice.finish_reason == "content_filter" or getattr(message, "refusal", None):
        raise LLMPermanentError(
            "The AI service refused to process this CV or request (content policy).", code="content_refused"
        )
    usage = getattr(completion, "usage", None)
    return _Answer(
        text=strip_reasoning(message.content or ""),
        model=getattr(completion, "model", None) or settings.OPENAI_MODEL,
        finish_reason=str(choice.finish_reason or "stop"),
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        mode=mode,
    )
