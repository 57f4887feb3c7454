"""Job rows that one worker at a time may hold: claim under a lease, run the work so that any error finishes
it, finish only while holding it, sweep the rows whose worker died, back off between attempts.

Two layers. The lease primitives (``JobKind``, ``claim``, ``finish``, ``renew``, ``sweep_expired``,
``resend_lost``) are used as they are by billing's Stripe events, which apply an event in a transaction of
their own. The runner (``runner.py``: ``JobSpec``, ``start``, ``enqueue``, ``run``, ``sweep``) is built on them:
the one attempt loop, stuck sweep and way to enqueue of analyses, cover letters and PDF renders, each kind
supplying only its work and its messages.

Each claim writes a fresh lease token, and every later write of that run is conditional on the token: a run
whose lease ran out and was taken over (same attempt number or not) can never overwrite the run that
replaced it. Each kind keeps its own statuses, lease length and limits, read from settings at each call.
"""

from core.jobs.leases import (
    JobKind,
    SweepResult,
    backoff_seconds,
    claim,
    finish,
    holds,
    renew,
    resend_lost,
    run_claimed,
    sweep_expired,
)
from core.jobs.runner import (
    Failure,
    JobError,
    JobSpec,
    Outcome,
    PermanentError,
    Swept,
    TransientError,
    Undo,
    enqueue,
    run,
    send,
    start,
    sweep,
)

__all__ = [
    "Failure",
    "JobError",
    "JobKind",
    "JobSpec",
    "Outcome",
    "PermanentError",
    "SweepResult",
    "Swept",
    "TransientError",
    "Undo",
    "backoff_seconds",
    "claim",
    "enqueue",
    "finish",
    "holds",
    "renew",
    "resend_lost",
    "run",
    "run_claimed",
    "send",
    "start",
    "sweep",
    "sweep_expired",
]
