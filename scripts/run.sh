#!/usr/bin/env bash
# One command: set up, then run the API (gunicorn), a Celery worker on every queue and Celery beat.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
# Development by default (see scripts/setup.sh); DEBUG=False with a SECRET_KEY runs it as in production.
export DEBUG=${DEBUG:-True}

bash scripts/setup.sh

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# Every process below keeps its metrics in this folder and GET /metrics adds them up (core.metrics): emptied here,
# before any of them starts, and never while they run.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/cvimprover-metrics}
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

.venv/bin/celery -A cvimprover worker -Q default,ai,pdf --concurrency "${WORKER_CONCURRENCY:-2}" -l INFO &
pids+=($!)
.venv/bin/celery -A cvimprover beat -l INFO --schedule "${TMPDIR:-/tmp}/cvimprover-celerybeat-schedule" &
pids+=($!)
.venv/bin/gunicorn -c cvimprover/gunicorn.py --bind "$HOST:$PORT" &
pids+=($!)
echo "CVImprover API on http://$HOST:$PORT/ (docs at /api/docs/), worker and beat running. Ctrl-C stops them."
wait -n "${pids[@]}"
