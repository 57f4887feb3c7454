"""The SDK's errors read: each becomes LLMTransientError (worth retrying later) or LLMPermanentError (retrying
cannot help), with a message fit to show the person, a short code and, when the server says, when to retry.
"""

from __future__ import annotations

import json

import openai
from django.conf import settings

from cv.llm.errors import LLMError, LLMPermanentError, LLMTransientError


def error_text(exc: openai.APIStatusError) -> str:
    parts = [str(getattr(exc, "message", "") or "")]
    try:
        parts.append(json.dumps(exc.body))
    except (TypeError, ValueError):
        parts.append(str(exc.body))
    return " ".join(parts).lower()


def _retry_after(exc: openai.APIStatusError) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return max(0.0, float(value)) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _error_code(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    nested = error if isinstance(error, dict) else body
    return str(getattr(exc, "code", None) or nested.get("code") or nested.get("type") or "")


def map_error(exc: Exception) -> LLMError:
    """Turn an SDK exception into our transient or permanent error with a message for the person."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMTransientError("The AI service did not answer in time.", code="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return LLMTransientError("The AI service could not be reached.", code="connection_error")
    if isinstance(exc, openai.RateLimitError):
        if _error_code(exc) == "insufficient_quota":
            return LLMPermanentError(
                "The AI service account has run out of credit; please try again later.", code="insufficient_quota"
            )
        return LLMTransientError(
            "The AI service is busy (rate limited).", code="rate_limited", retry_after=_retry_after(exc)
        )
    if isinstance(exc, openai.AuthenticationError):
        return LLMPermanentError(
            "The AI service rejected this server's credentials; an administrator has to fix the configuration.",
            code="auth_failed",
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return LLMPermanentError("The AI service denied access to the model.", code="permission_denied")
    if isinstance(exc, openai.NotFoundError):
        return LLMPermanentError(
            f"The AI model '{settings.OPENAI_MODEL}' was not found on the AI service.", code="model_not_found"
        )
    if isinstance(exc, openai.APIStatusError):
        code = _error_code(exc)
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            return LLMTransientError(
                f"The AI service had an internal error (HTTP {exc.status_code}).", code="server_error"
            )
        if "content" in code and ("filter" in code or "policy" in code):
            return LLMPermanentError(
                "The AI service refused to process this CV or request (content policy).", code="content_refused"
            )
        # vLLM and llama.cpp say it in the message only, without OpenAI's code.
        if code == "context_length_exceeded" or "context length" in error_text(exc):
            return LLMPermanentError("The CV and job description are too long for the AI model.", code="too_long")
        return LLMPermanentError(f"The AI service refused the request (HTTP {exc.status_code}).", code="bad_request")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return LLMPermanentError(
            "The AI service refused to process this CV or request (content policy).", code="content_refused"
        )
    return LLMPermanentError("The AI service's answer could not be used.", code="llm_error")
