from dj_rest_auth.jwt_auth import JWTCookieAuthentication as BaseJWTCookieAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken

from core.billing.selectors import users_with_subscription_summary
from core.models import User
from core.sessions import token_user


class JWTCookieAuthentication(BaseJWTCookieAuthentication):
    """Bearer header or `access-token` cookie (with CSRF), as dj-rest-auth does, except that an unusable
    cookie (expired, signed with an old key, its user gone) makes the request anonymous instead of a 401.

    The cookie is HttpOnly, so the page cannot remove it: refusing it would lock the person out of login,
    registration and even the plans page. A bad Bearer header is still refused, since the client chose to send it.
    """

    def get_user(self, validated_token):
        # The profile's plan and subscription summary come with the user: one query per request.
        return token_user(validated_token, users=users_with_subscription_summary(User.objects.all()))

    def authenticate(self, request):
        if self.get_header(request) is not None:
            return super().authenticate(request)
        try:
            return super().authenticate(request)
        except (InvalidToken, AuthenticationFailed):
            return None
