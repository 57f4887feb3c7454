from dj_rest_auth.jwt_auth import JWTCookieAuthentication as BaseJWTCookieAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import InvalidToken

from core.billing.selectors import users_with_subscription_summary
from core.hot_path.compiled_lookup import CompiledLookup
from core.models import User
from core.sessions import token_user

# The user behind a request, with the plan and the subscription summary the profile shows: one query, whose
# SQL is compiled once (building it cost more than running it).
signed_in_users = CompiledLookup(lambda: users_with_subscription_summary(User.objects.all()))


class JWTCookieAuthentication(BaseJWTCookieAuthentication):
    """Bearer header or `access-token` cookie (with CSRF), as dj-rest-auth does, except that an unusable
    cookie (expired, signed with an old key, its user gone) makes the request anonymous instead of a 401.

    The cookie is HttpOnly, so the page cannot remove it: refusing it would lock the person out of login,
    registration and even the plans page. A bad Bearer header is still refused, since the client chose to send it.
    """

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
