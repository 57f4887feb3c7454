from django.apps import AppConfig


class PdfConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pdf"
    verbose_name = "PDF documents"

    def ready(self) -> None:
        from pdf import signals  # noqa: F401  (connects the file clean-up on delete)
