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


@register()
def frontend_url_check(app_configs, **kwargs) -> list[Warning]:
    """In production, the links in reset and verification mails must lead to the real app. A warning, not a
    refusal, as for email: the API itself works without it, and a new deployment can start, be checked and
    then be given its address; but every start says so until it is set."""
    if settings.DEBUG or not settings.FRONTEND_URL_IS_DEFAULT:
        return []
    return [
        Warning(
            f"DEBUG=False and FRONTEND_URL is not set: password-reset and verification links in mails point at "
            f"{settings.FRONTEND_URL}, a developer's machine, instead of the app.",
            hint="Set FRONTEND_URL to the address of the single-page app (e.g. https://app.example.com); "
            "CORS_ALLOWED_ORIGINS, CSRF_TRUSTED_ORIGINS and SITE_DOMAIN follow it unless set.",
            id="cvimprover.W002",
        )
    ]


def startup_warnings() -> list[Warning]:
    """The checks whose warnings every process logs at start (gunicorn and Celery never run system checks)."""
    return email_backend_check(None) + frontend_url_check(None)
