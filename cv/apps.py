from django.apps import AppConfig


class CvConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cv"
    verbose_name = "CV"

    def ready(self) -> None:
        from cv import signals  # noqa: F401  (connects the file clean-up receivers)
