from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpResponse

from core.emails import clean_email


class AccountAdapter(DefaultAccountAdapter):
    """Email rules for every allauth path (sign-up, password reset lookups, social sign-in)."""

    def clean_email(self, email: str) -> str:
        return clean_email(email)

    def get_email_confirmation_url(self, request, emailconfirmation):
        return f"{settings.FRONTEND_URL}/verify-email/{emailconfirmation.key}"

    def respond_email_verification_sent(self, request, user):
        # allauth would redirect to its own HTML page; the API has none (the SPA shows its own), and
        # dj-rest-auth's sign-up answers the client itself, so this answer is never sent.
        return HttpResponse(status=204)
