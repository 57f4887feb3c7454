"""/auth/: dj-rest-auth's endpoints with our own views where the library defaults are not enough.

Every endpoint here takes JSON bodies only (415 otherwise): a cross-site HTML form can only send
form-encoded, multipart or text/plain bodies, so it can never sign a browser in (login CSRF), register,
or change anything on someone's behalf."""

from dj_rest_auth.registration.views import RegisterView
from dj_rest_auth.views import PasswordResetView
from django.urls import path

from core import views
from core.parsers import JSONParser

JSON_ONLY = {"parser_classes": [JSONParser]}

urlpatterns = [
    path("registration/", RegisterView.as_view(**JSON_ONLY), name="rest_register"),
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
