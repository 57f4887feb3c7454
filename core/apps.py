from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Connect the sign-in failure receivers and the plan catalogue's signals; register the OpenAPI extension;
        # the tasks register what the services and billing's events queue by name.
        from core import login_limits, schema, tasks  # noqa: F401
        from core.hot_path import plan_catalogue  # noqa: F401
