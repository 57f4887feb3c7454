import logging

from django.apps import AppConfig

logger = logging.getLogger("cvimprover")


class ProjectConfig(AppConfig):
    """Project-wide system checks (see cvimprover/checks.py)."""

    name = "cvimprover"
    verbose_name = "CVImprover"

    def ready(self) -> None:
        from cvimprover import checks

        # Gunicorn and Celery never run the system checks, so the warnings that matter at every start are
        # logged here too (manage.py migrate and check print them as well).
        for warning in checks.email_backend_check(None):
            logger.warning("%s %s %s", warning.id, warning.msg, warning.hint)
