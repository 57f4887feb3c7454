"""/auth/: dj-rest-auth's endpoints with our own views where the library defaults are not enough.

Every endpoint here takes JSON bodies only (415 otherwise): a cross-site HTML form can only send
form-encoded, multipart or text/plain bodies, so it can never sign a browser in (login CSRF), register,
or change anything on someone's behalf."""

from dj_rest_auth.registration.views import RegisterView, ResendEmailVerificationView, VerifyEmailView
from dj_rest_auth.views import PasswordResetView
from django.urls import path
from drf_spectacular.contrib.rest_auth import RestAuthDetailSerializer
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core import services, views
from core.parsers import JSONParser
from core.schema import ErrorSerializer

JSON_ONLY = {"parser_classes": [JSONParser]}


# The library's views as they are, documented as they answer: 200 {"detail": "ok"} (drf-spectacular's own
# description of the resend says 201), 404 for an unknown key, 409 email_taken when another account has taken a
# changed email before its key came back (core.adapters.AccountAdapter.confirm_email).
@extend_schema(responses={200: RestAuthDetailSerializer, 404: RestAuthDetailSerializer, 409: ErrorSerializer})
class EmailVerifyView(VerifyEmailView):
    pass


@extend_schema(responses={200: RestAuthDetailSerializer})
class EmailVerificationResendView(ResendEmailVerificationView):
    """At most one mail per address per ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN (allauth's limit, 3 minutes), so
    nobody can flood an inbox; the answer, and the work before it, are the same either way and reveal nothing."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_confirmation_resend(request=request, email=serializer.validated_data["email"])
        return Response({"detail": "ok"})


urlpatterns = [
    path("registration/", RegisterView.as_view(**JSON_ONLY), name="rest_register"),
    # ACCOUNT_EMAIL_VERIFICATION=mandatory: the SPA posts the key of the mailed link (FRONTEND_URL/verify-email/<key>).
    path("registration/verify-email/", EmailVerifyView.as_view(**JSON_ONLY), name="rest_verify_email"),
    path("registration/resend-email/", EmailVerificationResendView.as_view(**JSON_ONLY), name="rest_resend_email"),
    path("login/", views.LoginView.as_view(**JSON_ONLY), name="rest_login"),
    path("logout/", views.LogoutView.as_view(**JSON_ONLY), name="rest_logout"),
    path("user/", views.UserDetailsView.as_view(**JSON_ONLY), name="rest_user_details"),
    path("csrf-token/", views.CsrfTokenView.as_view(), name="csrf-token"),
    path("token/refresh/", views.TokenRefreshView.as_view(**JSON_ONLY), name="token_refresh"),
    path("token/verify/", views.TokenVerifyView.as_view(**JSON_ONLY), name="token_verify"),
    path("password/change/", views.PasswordChangeView.as_view(**JSON_ONLY), name="rest_password_change"),
    path("password/reset/", PasswordResetView.as_view(**JSON_ONLY), name="rest_password_reset"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(**JSON_ONLY),
        name="rest_password_reset_confirm",
    ),
    path("social/login/google/", views.GoogleLoginView.as_view(**JSON_ONLY), name="google_login"),
]
