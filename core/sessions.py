"""Sessions are JWT pairs. A refresh token is ended by blacklisting it; an access token is short-lived and
carries a hash of the password it was issued under (simplejwt's CHECK_REVOKE_TOKEN), so a new password
refuses every access token issued before it without a lookup table."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from core.models import User


@transaction.atomic
def user_sessions_end(*, user: User) -> int:
    """Blacklist every refresh token of the user that could still be used. Returns how many."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(created)


@transaction.atomic
def password_set(*, user: User, save_password: Callable[[], object]) -> None:
    """Save a new password (`save_password()`, a form's save) and end every session of the user."""
    save_password()
    user_sessions_end(user=user)


def session_open(*, user: User) -> RefreshToken:
    """A new token pair (recorded as outstanding) under the user's current password."""
    user.refresh_from_db(fields=["password"])
    return RefreshToken.for_user(user)


def _claimed_id(claim: object) -> int | None:
    """The primary key a token names: simplejwt writes it as a string of digits (older tokens as an int)."""
    if isinstance(claim, int) and not isinstance(claim, bool):
        return claim
    if isinstance(claim, str) and claim.isascii() and claim.isdigit() and len(claim) < 19:
        return int(claim)
    return None


def token_user(token: Token, *, find: Callable[[int], User | None] | None = None) -> User:
    """The user a validated token belongs to, or a 401: the account was deleted, or the password changed
    since the token was issued (refresh and verify check what authentication checks). `find` looks the user
    up by primary key (authentication's lookup loads more with the user)."""
    user_id = _claimed_id(token.payload.get(jwt_settings.USER_ID_CLAIM))
    user = None
    if user_id is not None:
        user = find(user_id) if find is not None else User.objects.filter(pk=user_id).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed("No active account found for the given token.", code="user_not_found")
    if jwt_settings.CHECK_REVOKE_TOKEN and token.payload.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        raise AuthenticationFailed("The password was changed since this token was issued.", code="password_changed")
    return user
