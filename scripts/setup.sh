#!/usr/bin/env bash
# Idempotent setup: virtualenv, pinned dependencies, database, migrations, plans, static files.
set -euo pipefail
cd "$(dirname "$0")/.."
# Development: debug on, and without SECRET_KEY a random key generated once into .secret_key (git-ignored).
export DEBUG=${DEBUG:-True}

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

bash scripts/services.sh
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/python scripts/ensure_db.py
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_plans
.venv/bin/python manage.py collectstatic --noinput -v0
