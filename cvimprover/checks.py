"""System checks for configuration mistakes that Django cannot see."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def email_backend_check(app_configs, **kwargs) -> list[Warning]:
    """In production, mail must go somewhere: the default console backend would print every password-reset
    link (a way into the account) to the server's log, and nobody would receive it."""
    if settings.DEBUG or not settings.EMAIL_BACKEND_IS_DEFAULT:
        return []
    return [
        Warning(
            "DEBUG=False and no email is configured: password-reset and verification mails are written to the "
            "log (console backend), with their links, instead of being sent.",
            hint="Set EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587), or set EMAIL_BACKEND "
            "explicitly (EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend keeps the console).",
            id="cvimprover.W001",
        )
    ]
