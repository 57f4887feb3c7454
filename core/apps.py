from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import login_limits, schema  # noqa: F401  (sign-in failure receivers; OpenAPI auth extension)
