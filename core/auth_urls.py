"""/auth/: dj-rest-auth's endpoints with our own views where the library defaults are not enough."""

from dj_rest_auth.registration.views import RegisterView
from dj_rest_auth.views import (
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
)
from django.urls import path
from rest_framework_simplejwt.views import TokenVerifyView

from core import views

urlpatterns = [
    path("registration/", RegisterView.as_view(), name="rest_register"),
    path("login/", views.LoginView.as_view(), name="rest_login"),
    path("logout/", views.LogoutView.as_view(), name="rest_logout"),
    path("user/", views.UserDetailsView.as_view(), name="rest_user_details"),
    path("csrf-token/", views.CsrfTokenView.as_view(), name="csrf-token"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token_refresh"),
    path("token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("password/change/", PasswordChangeView.as_view(), name="rest_password_change"),
    path("password/reset/", PasswordResetView.as_view(), name="rest_password_reset"),
    path("password/reset/confirm/", PasswordResetConfirmView.as_view(), name="rest_password_reset_confirm"),
    path("social/login/google/", views.GoogleLoginView.as_view(), name="google_login"),
]
