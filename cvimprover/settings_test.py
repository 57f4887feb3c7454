"""Test settings: only what tests need differs from production behaviour."""

import os
import secrets
import tempfile

# A dedicated Redis database (broker, cache, counters) and a throwaway media folder. Both are put in the
# environment before the base settings load, so a Celery worker subprocess started by a test inherits them.
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ["MEDIA_ROOT"] = os.environ.get("TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="cvimprover-test-media-")
os.environ.setdefault("TEST_MEDIA_ROOT", os.environ["MEDIA_ROOT"])
# Metrics stay in each process unless a test gives its servers a metrics folder of its own (never a developer's).
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
if os.environ.get("TEST_PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["TEST_PROMETHEUS_MULTIPROC_DIR"]
# Tests run against local fakes; real keys from a developer's .env must never leak into them.
for _name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ[_name] = ""
# Tests point the model at a local fake: they choose the answer's form themselves, structured output first as
# for a hosted model, whatever a local server's default is.
os.environ["OPENAI_ANSWER_FORM"] = "json_schema"
os.environ["OPENAI_REWRITE"] = "whole"

# No key is written anywhere: each run makes its own, shared with the worker subprocesses it starts. DEBUG as a
# developer's machine has it (pytest-django still runs the tests themselves with DEBUG off).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DEBUG", "True")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_BACKEND_IS_DEFAULT = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
