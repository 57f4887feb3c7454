from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import plan_catalogue, schema  # noqa: F401  (connect the catalogue's signals; register the OpenAPI extension)
