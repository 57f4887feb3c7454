"""The enqueue stripped to what no design on this stack can leave out, to measure how far its ratio could go.

Not the product, and served only by `bench/run.py --only floor`: this module's application is the real one
with `POST /cv/ai-responses/` replaced, as `BENCH_ENQUEUE_FLOOR` says, by
- `statement`: DRF's authentication, rate limit and JSON parsing as in the real view; then the quota unit and
  the job row in one SQL statement (no transaction block, no serializers, no checks of the input), the job
  queued with Celery, and the answer encoded by hand;
- `push`: the same, with a bare LPUSH of a placeholder instead of Celery's message (no worker could run it);
- `plain`: `statement` without DRF: a plain Django view that calls the same authentication and rate-limit
  classes itself and parses the body with orjson.

Whatever the real enqueue does beyond these costs more, so their ratios are the most it could reach.
"""

import os

from cvimprover.wsgi import application

__all__ = ["application"]

VARIANT = os.environ.get("BENCH_ENQUEUE_FLOOR", "")


def _install() -> None:
    """Replace the view's create (imports here: Django is set up once the application is)."""
    import orjson
    from django.db import connection
    from django.http import HttpResponse
    from django.utils import timezone
    from django.views.decorators.csrf import csrf_exempt
    from django_redis import get_redis_connection

    from core import jobs
    from core.authentication import JWTCookieAuthentication
    from core.quotas import _today
    from core.throttles import WORK, RequestThrottle
    from cv import services, urls, views
    from cv.models import AIResponse

    def _insert_statement() -> tuple[str, dict]:
        """The quota unit and the row in one statement; the row's columns and defaults are the model's."""
        template = AIResponse(questionnaire_id=0, user_id=0)
        columns, values = [], []
        for field in AIResponse._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(field.column)
            values.append(f"%({field.attname})s")
        defaults = {
            field.attname: field.get_db_prep_save(getattr(template, field.attname), connection)
            for field in AIResponse._meta.concrete_fields
        }
        sql = f"""
            WITH unit AS (
                INSERT INTO core_quotausage (user_id, scope, day, used) VALUES (%(user_id)s, 'ai_responses', %(day)s, 1)
                ON CONFLICT (user_id, scope, day) DO UPDATE SET used = core_quotausage.used + 1
                WHERE core_quotausage.used < %(limit)s
                RETURNING day
            )
            INSERT INTO cv_airesponse ({", ".join(columns)}) SELECT {", ".join(values)} FROM unit RETURNING id
        """  # noqa: S608 (the model's own column names)
        return sql, defaults

    def _enqueue(user_id: int, data: dict) -> HttpResponse:
        now, day = timezone.now(), _today()
        params = {
            **defaults,
            "questionnaire_id": data["questionnaire"],
            "user_id": user_id,
            "prompt": data.get("prompt", ""),
            "created_at": now,
            "enqueued_at": now,
            "quota_day": day,
            "day": day,
            "limit": 10**9,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            response_id = cursor.fetchone()[0]
        if VARIANT == "push":
            get_redis_connection("default").lpush("bench:floor", response_id)
        else:
            jobs.send(services.ANALYSIS, response_id)
        body = {
            "id": response_id, "questionnaire": data["questionnaire"], "prompt": params["prompt"], "status": "pending",
            "improved_cv": "", "changes": [], "match_report": None, "verification": None, "model": "", "error": "",
            "created_at": now.isoformat(), "started_at": None, "finished_at": None,
        }  # fmt: skip
        return HttpResponse(orjson.dumps(body), status=202, content_type="application/json")

    def _create(self, request, *args, **kwargs):
        return _enqueue(request.user.pk, request.data)

    class _Work:
        throttle_scope = WORK

    def _plain(original):
        @csrf_exempt
        def view(request, *args, **kwargs):
            if request.method != "POST":
                return original(request, *args, **kwargs)
            signed_in = JWTCookieAuthentication().authenticate(request)
            if signed_in is None:
                return HttpResponse(status=401)
            request.user = signed_in[0]
            if not RequestThrottle().allow_request(request, _Work()):
                return HttpResponse(status=429)
            return _enqueue(request.user.pk, orjson.loads(request.body))

        return view

    sql, defaults = _insert_statement()
    if VARIANT == "plain":
        for pattern in urls.urlpatterns:
            if getattr(pattern, "name", None) == "ai-responses-list":
                pattern.callback = _plain(pattern.callback)
    else:
        views.AIResponseViewSet.create = _create  # type: ignore[method-assign]


if VARIANT:
    _install()
