from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Connect the sign-in failure receivers and the plan catalogue's signals; register the OpenAPI extension.
        from core import login_limits, plan_catalogue, schema  # noqa: F401
