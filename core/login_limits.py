"""Bounds on password guessing: failed sign-ins per account and per client address, and password-reset
mails per address, counted in Redis with atomic operations (fixed windows: INCR, then EXPIRE NX).

A locked account refuses even the right password until its window ends, so a guesser cannot learn from
the answer when they hit it; a success resets the account's count (never the address's, or a guesser
could sign into an account of their own between guesses). The per-address bound is higher, so the typos
of one office behind one address lock nobody out. With Redis unreachable every check fails open and logs
a warning: sign-in must keep working during a Redis outage (DESIGN: "When parts fail").
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from rest_framework import status
from rest_framework.throttling import BaseThrottle

from core.exceptions import DomainError

logger = logging.getLogger(__name__)

_REDIS_DOWN = (redis.RedisError, ConnectionInterrupted)
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


def _reset_at(ttl: int) -> datetime:
    return timezone.now() + timedelta(seconds=ttl if ttl > 0 else _window())


def login_lock_check(*, identifier: str, request) -> None:
    """Raise LoginLocked when the account or the client address has used up its failures."""
    account, address = _account_key(identifier), _address_key(request)
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.get(account).ttl(account).get(address).ttl(address)
        account_count, account_ttl, address_count, address_ttl = pipe.execute()
    except _REDIS_DOWN:
        logger.warning("login limits not checked: redis unavailable")
        return
    ttls = []
    if int(account_count or 0) >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        ttls.append(account_ttl)
    if int(address_count or 0) >= settings.LOGIN_FAILURES_PER_IP:
        ttls.append(address_ttl)
    if ttls:
        raise LoginLocked(reset_at=_reset_at(max(ttls)).isoformat().replace("+00:00", "Z"))


def login_failure_record(*, identifier: str, request) -> None:
    account, address = _account_key(identifier), _address_key(request)
    window = _window()
    try:
        pipe = _client().pipeline(transaction=True)
        pipe.incr(account).expire(account, window, nx=True).incr(address).expire(address, window, nx=True)
        pipe.execute()
    except _REDIS_DOWN:
        logger.warning("login failure not counted: redis unavailable")


def login_success_record(*, user) -> None:
    try:
        _client().delete(f"{_PREFIX}:account:user:{user.pk}")
    except _REDIS_DOWN:
        logger.warning("login failures not reset: redis unavailable")


def password_reset_mail_allowed(*, email: str) -> bool:
    """Count one reset request for this address; False past the hourly bound. Every request counts, for
    known and unknown addresses alike, so the bound itself reveals nothing."""
    key = f"{_PREFIX}:reset-mail:{_digest(email.strip().lower())}"
    try:
        pipe = _client().pipeline(transaction=True)
        pipe.incr(key).expire(key, 3600, nx=True)
        count, _ = pipe.execute()
    except _REDIS_DOWN:
        logger.warning("password reset mails not counted: redis unavailable")
        return True
    return count <= settings.PASSWORD_RESET_MAILS_PER_HOUR


def _identifier_of(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


class LoginLimitBackend:
    """First in AUTHENTICATION_BACKENDS: every `authenticate()` (the Django admin login included) is
    refused while the account or address is locked, before any password is checked. The API's login view
    checks the same bounds itself first, to answer 429 with `reset_at` instead of a generic refusal."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            login_lock_check(identifier=_identifier_of({"username": username, **kwargs}), request=request)
        except LoginLocked:
            request.login_locked = True
            raise PermissionDenied from None
        return None

    def get_user(self, user_id):
        return None


@receiver(user_login_failed, dispatch_uid="core.login_limits.failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, "login_locked", False):
        return
    login_failure_record(identifier=_identifier_of(credentials), request=request)


@receiver(user_logged_in, dispatch_uid="core.login_limits.logged_in")
def _on_logged_in(sender, request, user, **kwargs):
    login_success_record(user=user)
