"""Values and functions tests share (fixtures stay in the conftest.py files)."""

from rest_framework.test import APIClient

# The password every test user is created with (the factories and the root conftest's users).
TEST_PASSWORD = "correct-Horse-battery-9"


def bearer_client(user) -> APIClient:
    """An API client signed in as `user` with a real access token in the Authorization header."""
    from rest_framework_simplejwt.tokens import RefreshToken  # imported when Django is set up

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client
