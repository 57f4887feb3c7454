import logging
import os
import time
from contextvars import Token

from celery import Celery
from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvimprover.settings")

app = Celery("cvimprover")
# Everything (broker, queues, routes, beat schedule) is configured in settings under CELERY_*.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("cvimprover.task")
_started: dict[str, float] = {}
_bound: dict[str, Token] = {}


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    # The request (or task) that queues a job hands its id on in the message's headers: the task's log lines
    # and its model calls then carry it (core.request_context).
    from core import request_context

    request_id = request_context.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(request_context.TASK_HEADER, request_id)


@task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    from core import request_context

    _started[task_id] = time.monotonic()
    request = getattr(task, "request", None)
    request_id = getattr(request, request_context.TASK_HEADER, None) or (
        (getattr(request, "headers", None) or {}).get(request_context.TASK_HEADER)
    )
    _bound[task_id] = request_context.bind(request_id if isinstance(request_id, str) else None)


@task_postrun.connect
def _task_finished(task_id=None, task=None, args=None, state=None, **kwargs):
    # One line per task: its name, id, positional ids and outcome; never keyword arguments or results,
    # which could carry CV text.
    started = _started.pop(task_id, None)
    elapsed_ms = (time.monotonic() - started) * 1000 if started is not None else -1
    ids = ",".join(str(a) for a in (args or ()) if isinstance(a, int | str) and len(str(a)) <= 64)
    logger.info("task name=%s id=%s args=%s state=%s ms=%d", task.name, task_id, ids, state, elapsed_ms)
    bound = _bound.pop(task_id, None)
    if bound is not None:
        from core import request_context

        request_context.unbind(bound)


@task_failure.connect
def _task_failed(task_id=None, exception=None, sender=None, **kwargs):
    logger.warning(
        "task failed name=%s id=%s error=%s", getattr(sender, "name", "?"), task_id, type(exception).__name__
    )
