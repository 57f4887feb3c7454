from django.apps import AppConfig


class CvConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cv"
    verbose_name = "CV"
