"""Bounds on password guessing: sign-in attempts per account and per client address, and password-reset
mails per address, counted in Redis.

Each password check first takes a slot from both counters in one Lua script (check and take are one atomic
step), so parallel guesses cannot overtake the bound: at most N passwords are tried per account and window.
A failure keeps its slot; a success resets the account's count and gives back the address's slot (never
resets it, or a guesser could sign into an account of their own between guesses). A locked account
refuses even the right password until its window ends, so the answer teaches the guesser nothing. The
per-address bound is higher, so the typos of one office behind one address lock nobody out. With Redis
unreachable every check fails open (core.redis_safety.fail_open, which logs a warning once per outage):
sign-in keeps working during a Redis outage.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django_redis import get_redis_connection
from rest_framework import status
from rest_framework.throttling import BaseThrottle

from core import metrics
from core.exceptions import DomainError
from core.redis_safety import fail_open

logger = logging.getLogger(__name__)

_PREFIX = "cvimprover:login-limits"


class LoginLocked(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "login_locked"
    default_detail = "Too many failed sign-ins. Please wait before trying again, or reset your password."


def _digest(value: str) -> str:
    # Keys never hold an address or a username in clear (Redis dumps and MONITOR output are not secret-safe).
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _account_key(identifier: str) -> str:
    """One counter per account, whether it is named by username or by email; an unknown name gets a
    counter of its own, so the answers do not tell which accounts exist."""
    name = (identifier or "").strip().lower()
    user_pk = (
        get_user_model()
        .objects.filter(Q(username__iexact=name) | Q(email__iexact=name))
        .values_list("pk", flat=True)
        .first()
    )
    subject = f"user:{user_pk}" if user_pk is not None else f"name:{_digest(name)}"
    return f"{_PREFIX}:account:{subject}"


def _address_key(request) -> str:
    # DRF's notion of the client address, which honours NUM_PROXIES like the anonymous throttle does.
    return f"{_PREFIX}:address:{_digest(BaseThrottle().get_ident(request))}"


def _client():
    return get_redis_connection("default")


def _window() -> int:
    return settings.LOGIN_FAILURE_WINDOW_SECONDS


def _reset_at(ttl_ms: int) -> datetime:
    # To the second: the moment is the same on every answer of one window.
    moment = timezone.now() + (timedelta(milliseconds=ttl_ms) if ttl_ms > 0 else timedelta(seconds=_window()))
    return moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)


# KEYS: account, address. ARGV: account limit, address limit, window seconds.
# Returns {taken (1/0), account ttl (ms), address ttl (ms), account count, address count}.
_TAKE_SLOT = """
local account = tonumber(redis.call('GET', KEYS[1]) or '0')
local address = tonumber(redis.call('GET', KEYS[2]) or '0')
if account < tonumber(ARGV[1]) and address < tonumber(ARGV[2]) then
    redis.call('INCR', KEYS[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
    redis.call('INCR', KEYS[2])
    redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
    return {1, redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2]), account + 1, address + 1}
end
return {0, redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2]), account, address}
"""

# Give back one slot, but never create a key or go below zero (the window may have ended meanwhile).
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


@fail_open(default=None, what="taking a sign-in attempt")
def _take_slot(account: str, address: str) -> list[int] | None:
    return _client().eval(
        _TAKE_SLOT, 2, account, address,
        settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_PER_IP, _window(),
    )  # fmt: skip


def login_attempt_begin(*, identifier: str, request) -> None:
    """Take one attempt from the account's and the address's bounds before a password is checked, or
    raise LoginLocked (with `reset_at`) when either is used up. Redis down: the attempt goes ahead."""
    account, address = _account_key(identifier), _address_key(request)
    result = _take_slot(account, address)
    if result is None:
        return
    taken, account_ttl, address_ttl, account_count, address_count = result
    if taken:
        request.login_slot_taken = True
        return
    ttls = []
    if account_count >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        ttls.append(account_ttl)
    if address_count >= settings.LOGIN_FAILURES_PER_IP:
        ttls.append(address_ttl)
    scope = "account" if account_count >= settings.LOGIN_FAILURES_PER_ACCOUNT else "ip"
    logger.info("login locked scope=%s", scope)
    metrics.LOGIN_LOCKOUTS.labels(scope).inc()
    raise LoginLocked(reset_at=_reset_at(max(ttls)).isoformat().replace("+00:00", "Z"))


@fail_open(default=None, what="resetting sign-in attempts")
def _forget(account: str, give_back: str | None) -> None:
    client = _client()
    client.delete(account)
    if give_back is not None:
        client.eval(_GIVE_BACK, 1, give_back)


def login_success_record(*, user, request) -> None:
    """The password was right: the account starts afresh, and the address gets its slot back."""
    give_back = None
    if getattr(request, "login_slot_taken", False):
        request.login_slot_taken = False
        give_back = _address_key(request)
    _forget(f"{_PREFIX}:account:user:{user.pk}", give_back)


@fail_open(default=None, what="counting password-reset mails")
def _count_reset_mail(key: str) -> int:
    pipe = _client().pipeline(transaction=True)
    pipe.incr(key).expire(key, 3600, nx=True)
    count, _ = pipe.execute()
    return count


def password_reset_mail_allowed(*, email: str) -> bool:
    """Count one reset request for this address; False past the hourly bound. Every request counts, for
    known and unknown addresses alike, so the bound itself reveals nothing. Redis down: allowed."""
    count = _count_reset_mail(f"{_PREFIX}:reset-mail:{_digest(email.strip().lower())}")
    return count is None or count <= settings.PASSWORD_RESET_MAILS_PER_HOUR


def _identifier_of(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


class LoginLimitBackend:
    """First in AUTHENTICATION_BACKENDS, so every `authenticate()` with a password (the API's login and the
    Django admin's alike) takes its attempt before any backend checks the password. A locked attempt is
    refused (PermissionDenied stops Django from trying the other backends); the API's login view turns the
    lock left on the request into its 429 answer."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or password is None:
            return None
        try:
            login_attempt_begin(identifier=_identifier_of({"username": username, **kwargs}), request=request)
        except LoginLocked as locked:
            request.login_locked = locked
            raise PermissionDenied from None
        return None

    # No get_user(): this backend never signs anyone in, and without it Django never picks it to restore a
    # session (force_login and login() without a backend take the first backend that has get_user).


@receiver(user_logged_in, dispatch_uid="core.login_limits.logged_in")
def _on_logged_in(sender, request, user, **kwargs):
    # The Django admin signs in through django.contrib.auth.login(); the API's view records its own success.
    if request is not None:
        login_success_record(user=user, request=request)
