from django.apps import AppConfig


class CvConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cv"
    verbose_name = "CV"

    def ready(self) -> None:
        # The signals connect the file clean-up; the tasks register what the job runner (core.jobs) sends by name.
        from cv import signals, tasks  # noqa: F401
