import copy
import threading
import time

from dj_rest_auth.jwt_auth import JWTCookieAuthentication as BaseJWTCookieAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from core.billing.selectors import users_with_subscription_summary
from core.compiled_lookup import CompiledLookup
from core.models import User
from core.sessions import token_user

# The user behind a request, with the plan and the subscription summary the profile shows: one query, whose
# SQL is compiled once (building it cost more than running it).
signed_in_users = CompiledLookup(lambda: users_with_subscription_summary(User.objects.all()))


class VerifiedTokens:
    """Access tokens this process has verified (signature and claims), by their exact encoded form, until
    they expire. The SPA sends the same token with every call for its lifetime; checking its signature again
    each time gave the same answer at a cost. Only the verification is kept: the user behind the token, and
    whether their password changed since, are looked up on every request."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._tokens: dict[bytes, Token] = {}
        self._lock = threading.Lock()

    def get(self, raw: bytes) -> Token | None:
        token = self._tokens.get(raw)
        if token is None:
            return None
        if time.time() >= token.payload["exp"]:  # past its expiry: verified afresh, and refused
            with self._lock:
                self._tokens.pop(raw, None)
            return None
        fresh = copy.copy(token)
        fresh.payload = dict(token.payload)
        return fresh

    def keep(self, raw: bytes, token: Token) -> None:
        with self._lock:
            while len(self._tokens) >= self._size:
                self._tokens.pop(next(iter(self._tokens)))  # the oldest
            self._tokens[raw] = token


verified_tokens = VerifiedTokens(size=4096)


class JWTCookieAuthentication(BaseJWTCookieAuthentication):
    """Bearer header or `access-token` cookie (with CSRF), as dj-rest-auth does, except that an unusable
    cookie (expired, signed with an old key, its user gone) makes the request anonymous instead of a 401.

    The cookie is HttpOnly, so the page cannot remove it: refusing it would lock the person out of login,
    registration and even the plans page. A bad Bearer header is still refused, since the client chose to send it.
    """

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = verified_tokens.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)
            if isinstance(token.payload.get("exp"), int):
                verified_tokens.keep(raw_token, token)
        return token

    def get_user(self, validated_token):
        return token_user(validated_token, find=signed_in_users.get)

    def authenticate(self, request):
        if self.get_header(request) is not None:
            return super().authenticate(request)
        try:
            return super().authenticate(request)
        except (InvalidToken, AuthenticationFailed):
            return None


def signed_in_user(request: Request) -> User:
    """The person behind a request to a view that requires sign-in (IsAuthenticated, the default permission)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
