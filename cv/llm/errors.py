"""The errors of the LLM door (cv.llm.client), each with a message fit to show the person and a short code.

Their own module so that reading an answer (cv.llm.answers) can raise them without importing the client.
They are the job runner's errors (core.jobs): a transient one retries the job after a back-off, a permanent
one fails it, and who pays for the failure is carried by ``refund``.
"""

from __future__ import annotations

from core.jobs import JobError, PermanentError, TransientError


class LLMError(JobError):
    """Any failure of the LLM door."""


class LLMTransientError(LLMError, TransientError):
    """Worth trying again later (rate limit, timeout, connection, server error)."""


class LLMPermanentError(LLMError, PermanentError):
    """Trying again cannot help (credentials, bad request, refused content, unusable answer).

    ``refund`` False means the person caused it (a CV too long for any answer) and the quota unit is spent.
    """


class LLMTruncatedError(LLMPermanentError):
    """The answer stopped at the output bound (finish_reason "length") before it was complete."""
