"""Test settings: only what tests need differs from production behaviour."""

import os
import tempfile

# A dedicated Redis database (broker, cache, counters) and a throwaway media folder. Both are put in the
# environment before the base settings load, so a Celery worker subprocess started by a test inherits them.
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ["MEDIA_ROOT"] = os.environ.get("TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="cvimprover-test-media-")
os.environ.setdefault("TEST_MEDIA_ROOT", os.environ["MEDIA_ROOT"])
# Tests run against local fakes; real keys from a developer's .env must never leak into them.
for _name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ[_name] = ""

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
