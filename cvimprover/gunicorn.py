"""gunicorn settings shared by scripts/run.sh, the Docker image and the benchmark (command-line flags win).

Sync workers, WEB_CONCURRENCY of them (default 3 on the 2-core machines this was measured on): every
request is a few milliseconds of CPU between short waits on PostgreSQL and Redis, and the slow parts (CV
parsing, LLM calls, rendering) run in a child process or a Celery worker, never in a web worker. Threaded
workers (gthread, 4 threads) measured no better here and had worse tail latency (BENCHMARKS.md). No access
log: the app logs one line per request itself (core.middleware.RequestLogMiddleware).
"""

import os

wsgi_app = "cvimprover.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60
graceful_timeout = 20
