import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvimprover.settings")

app = Celery("cvimprover")
# Everything (broker, queues, routes, beat schedule) is configured in settings under CELERY_*.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
