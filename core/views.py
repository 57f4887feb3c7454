from typing import Any

import requests
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from dj_rest_auth.jwt_auth import get_refresh_view, set_jwt_cookies, unset_jwt_cookies
from dj_rest_auth.registration.views import SocialLoginView
from dj_rest_auth.views import LoginView as BaseLoginView
from dj_rest_auth.views import PasswordChangeView as BasePasswordChangeView
from dj_rest_auth.views import PasswordResetConfirmView as BasePasswordResetConfirmView
from dj_rest_auth.views import UserDetailsView as BaseUserDetailsView
from django.conf import settings
from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenVerifyView as BaseTokenVerifyView

from core import login_limits, services, sessions
from core.adapters import GoogleAdapter
from core.exceptions import DomainError, ServiceUnavailable
from core.health import health_report
from core.hot_path.plan_catalogue import current_plan_id, plans_catalogue
from core.pagination import single_page, single_page_schema
from core.plan_serializers import PlanSerializer
from core.quotas import quota_status_for
from core.serializers import (
    CsrfTokenSerializer,
    GoogleLoginSerializer,
    HealthSerializer,
    RateLimitStatusSerializer,
    ScopeStatusSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
    UserDetailsSerializer,
)


class CsrfTokenView(APIView):
    """Sets the `csrftoken` cookie and returns the same token for SPAs that cannot read it."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=CsrfTokenSerializer)
    def get(self, request):
        return Response({"csrfToken": get_token(request)})


_LoginOut = inline_serializer(
    "LoginOut",
    {
        "access": serializers.CharField(),
        "refresh": serializers.CharField(),
        "access_expiration": serializers.DateTimeField(),
        "refresh_expiration": serializers.DateTimeField(),
        "user": UserDetailsSerializer(),
    },
)
_LoginLockedOut = inline_serializer(
    "LoginLocked",
    {"detail": serializers.CharField(), "code": serializers.CharField(), "reset_at": serializers.DateTimeField()},
)


class LoginView(BaseLoginView):
    """dj-rest-auth's login, but the refresh token is in the body too (DESIGN: "JWT is returned in the body
    and set as cookies"), so Bearer clients that cannot use cookies can refresh. The cookies stay HttpOnly.

    Failed attempts are bounded per account and per client address (core.login_limits): past the bound the
    answer is 429 `login_locked` with `reset_at`, whatever the password."""

    @extend_schema(responses={200: _LoginOut, 429: _LoginLockedOut})
    def post(self, request, *args, **kwargs):
        try:
            response = super().post(request, *args, **kwargs)
        except ValidationError:
            locked = getattr(request, "login_locked", None)  # left by core.login_limits.LoginLimitBackend
            if locked is not None:
                raise locked from None
            raise
        login_limits.login_success_record(user=self.user, request=request)
        return response

    def get_response(self):
        response = super().get_response()
        if response.status_code == status.HTTP_200_OK and isinstance(response.data, dict):
            response.data["refresh"] = str(self.refresh_token)
        return response


# dj-rest-auth builds its cookie-aware refresh view at run time.
_CookieRefreshView: Any = get_refresh_view()


class TokenRefreshView(_CookieRefreshView):
    """Refresh from the body or, with an empty body, the `refresh-token` cookie. The rotated refresh token
    is returned in the body as well as the cookie (the old one is blacklisted)."""

    serializer_class = TokenRefreshSerializer

    def finalize_response(self, request, response, *args, **kwargs):
        refresh = response.data.get("refresh") if isinstance(response.data, dict) else None
        response = super().finalize_response(request, response, *args, **kwargs)
        if refresh and response.status_code == status.HTTP_200_OK:
            response.data["refresh"] = refresh
        return response


class TokenVerifyView(BaseTokenVerifyView):
    serializer_class = TokenVerifySerializer


def _signed_in(response: Response, refresh: RefreshToken) -> Response:
    """Put a fresh token pair in the body and the cookies, as login does."""
    access = refresh.access_token
    response.data.update(
        {
            "access": str(access),
            "refresh": str(refresh),
            "access_expiration": access.current_time + jwt_settings.ACCESS_TOKEN_LIFETIME,
            "refresh_expiration": refresh.current_time + jwt_settings.REFRESH_TOKEN_LIFETIME,
        }
    )
    set_jwt_cookies(response, str(access), str(refresh))
    return response


_PasswordChangedOut = inline_serializer(
    "PasswordChangedOut",
    {
        "detail": serializers.CharField(),
        "access": serializers.CharField(),
        "refresh": serializers.CharField(),
        "access_expiration": serializers.DateTimeField(),
        "refresh_expiration": serializers.DateTimeField(),
    },
)


class PasswordChangeView(BasePasswordChangeView):
    """A new password ends every session of the account; the caller gets a fresh pair (body and cookies)
    and stays signed in."""

    @extend_schema(responses=_PasswordChangedOut)
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sessions.password_set(user=request.user, save_password=serializer.save)
        refresh = sessions.session_open(user=request.user)
        return _signed_in(Response({"detail": "New password has been saved."}), refresh)


class PasswordResetConfirmView(BasePasswordResetConfirmView):
    """A reset ends every session of the account: whoever took it over is signed out. It also lifts a lock
    left by guesses: the person has just proved they hold the mailbox."""

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sessions.password_set(user=serializer.user, save_password=serializer.save)
        login_limits.login_success_record(user=serializer.user, request=request)
        return Response({"detail": "Password has been reset with the new password."})


class UserDetailsView(BaseUserDetailsView):
    """GET/PATCH the profile; DELETE the account, its files and its subscription."""

    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.user_delete(user=request.user)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        unset_jwt_cookies(response)
        return response


_LogoutIn = inline_serializer("LogoutIn", {"refresh": serializers.CharField(required=False)})


class LogoutView(APIView):
    """Blacklists the refresh token (from the body or the `refresh-token` cookie) and clears the cookies.

    Idempotent: logging out with an already blacklisted or expired token still clears the cookies."""

    permission_classes = [AllowAny]

    @extend_schema(request=_LogoutIn, responses=inline_serializer("LogoutOut", {"detail": serializers.CharField()}))
    def post(self, request):
        if not isinstance(request.data, dict):
            return Response(
                {"detail": 'Expected a JSON object such as {"refresh": "..."}.', "code": "invalid"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        raw = request.data.get("refresh") or request.COOKIES.get(settings.REST_AUTH["JWT_AUTH_REFRESH_COOKIE"])
        if raw is not None and not isinstance(raw, str):
            return Response({"refresh": ["Must be a string."]}, status=status.HTTP_400_BAD_REQUEST)
        if raw:
            try:
                RefreshToken(raw).blacklist()  # type: ignore[arg-type]  # simplejwt annotates the encoded token as Token
            except TokenError:
                pass  # already unusable: nothing left to revoke
        response = Response({"detail": "Successfully logged out."})
        unset_jwt_cookies(response)
        return response


class GoogleLoginView(SocialLoginView):
    """Google sign-in with `{code}` (the SPA's redirect flow), `{id_token}` (Google Identity Services) or a bare
    `{access_token}`, each accepted only when it was issued to our client id (GOOGLE_CLIENT_ID)."""

    adapter_class = GoogleAdapter
    client_class = OAuth2Client
    serializer_class = GoogleLoginSerializer

    @property
    def callback_url(self):
        return settings.FRONTEND_URL

    def post(self, request, *args, **kwargs):
        if not (settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET):
            raise ServiceUnavailable(
                "Google sign-in is not configured on this server.", code="google_login_not_configured"
            )
        if not isinstance(request.data, dict):
            return Response({"detail": "Expected a JSON object.", "code": "invalid"}, status=400)
        try:
            return super().post(request, *args, **kwargs)
        except OAuth2Error as exc:
            raise DomainError(
                "Google did not accept this sign-in. Please try again.", code="google_login_failed"
            ) from exc
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                "Google could not be reached to verify the sign-in. Please try again.", code="google_unreachable"
            ) from exc


class PlanListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("billing", enum=["monthly", "yearly"], required=False)],
        responses=single_page_schema("PlanList", PlanSerializer),
    )
    def get(self, request):
        billing = request.query_params.get("billing")
        if billing not in (None, "", "monthly", "yearly"):
            return Response({"billing": ["Must be 'monthly' or 'yearly'."]}, status=status.HTTP_400_BAD_REQUEST)
        current = current_plan_id(request.user) if request.user.is_authenticated else None
        return single_page(plans_catalogue(viewer=request.user, billing=billing or None, current_plan_id=current))


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request):
        report, healthy = health_report()
        return Response(report, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


class RateLimitStatusView(APIView):
    @extend_schema(responses=RateLimitStatusSerializer)
    def get(self, request):
        report = quota_status_for(user=request.user)
        scopes = {
            name: {**ScopeStatusSerializer(s).data, "remaining": s.remaining, "percentage_used": s.percentage_used}
            for name, s in report["scopes"].items()
        }
        return Response({**report, "scopes": scopes})
