"""The errors of the LLM door (cv.llm), each with a message fit to show the person and a short code.

Their own module so that reading an answer (cv.llm_answers) can raise them without importing the client.
"""

from __future__ import annotations


class LLMError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


class LLMTransientError(LLMError):
    """Worth trying again later (rate limit, timeout, connection, server error)."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class LLMPermanentError(LLMError):
    """Trying again cannot help (credentials, bad request, refused content, unusable answer).

    ``refund`` False means the person caused it (a CV too long for any answer) and the quota unit is spent.
    """

    def __init__(self, message: str, *, code: str, refund: bool = True):
        super().__init__(message, code=code)
        self.refund = refund


class LLMTruncatedError(LLMPermanentError):
    """The answer stopped at the output bound (finish_reason "length") before it was complete."""
