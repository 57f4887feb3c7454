import logging
import os
import time

from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvimprover.settings")

app = Celery("cvimprover")
# Everything (broker, queues, routes, beat schedule) is configured in settings under CELERY_*.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("cvimprover.task")
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_finished(task_id=None, task=None, args=None, state=None, **kwargs):
    # One line per task: its name, id, positional ids and outcome; never keyword arguments or results,
    # which could carry CV text.
    started = _started.pop(task_id, None)
    elapsed_ms = (time.monotonic() - started) * 1000 if started is not None else -1
    ids = ",".join(str(a) for a in (args or ()) if isinstance(a, int | str) and len(str(a)) <= 64)
    logger.info("task name=%s id=%s args=%s state=%s ms=%d", task.name, task_id, ids, state, elapsed_ms)


@task_failure.connect
def _task_failed(task_id=None, exception=None, sender=None, **kwargs):
    logger.warning(
        "task failed name=%s id=%s error=%s", getattr(sender, "name", "?"), task_id, type(exception).__name__
    )
