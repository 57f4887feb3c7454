from django.apps import AppConfig


class PdfConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pdf"
    verbose_name = "PDF documents"

    def ready(self) -> None:
        # The signals connect the file clean-up; the tasks register what the job runner (core.jobs) sends by name.
        from pdf import signals, tasks  # noqa: F401
