#!/usr/bin/env bash
# One command: install what the tests need, then run the whole suite against the real PostgreSQL and Redis
# (pytest creates and drops its own test database; Celery workers are started by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

bash scripts/services.sh
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
exec .venv/bin/pytest "$@"
