"""gunicorn settings shared by scripts/run.sh, the Dockerfile and the benchmark (command-line flags win)."""

import os

wsgi_app = "cvimprover.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60
accesslog = "-"
