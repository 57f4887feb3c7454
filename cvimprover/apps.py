import logging

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate

logger = logging.getLogger("cvimprover")


class ProjectConfig(AppConfig):
    """Project-wide system checks (see cvimprover/checks.py) and the Site row that mails name."""

    name = "cvimprover"
    verbose_name = "CVImprover"

    def ready(self) -> None:
        from cvimprover import checks

        # Gunicorn and Celery never run the system checks, so the warnings that matter at every start are
        # logged here too (manage.py migrate and check print them as well).
        for warning in checks.startup_warnings():
            logger.warning("%s %s %s", warning.id, warning.msg, warning.hint)
        # After django.contrib.sites has made its default row ("example.com"), at every migrate and every flush
        # of a test database: the name and domain come from settings (SITE_NAME, SITE_DOMAIN).
        post_migrate.connect(_site_from_settings, sender=apps.get_app_config("sites"), dispatch_uid="cvimprover.site")


def _site_from_settings(sender, using: str = "default", **kwargs) -> None:
    from core.services import site_sync

    site_sync(using=using)
