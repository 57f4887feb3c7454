from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from core.emails import clean_email


class AccountAdapter(DefaultAccountAdapter):
    """Email rules for every allauth path (sign-up, password reset lookups, social sign-in)."""

    def clean_email(self, email: str) -> str:
        return clean_email(email)

    def get_email_confirmation_url(self, request, emailconfirmation):
        return f"{settings.FRONTEND_URL}/verify-email/{emailconfirmation.key}"
