"""Settings for the Celery worker the account-mail tests start: the test settings, with mail written to files
(the test reads what the worker sent) and a queue of its own, so no other test's worker takes its tasks."""

import os

from cvimprover.settings_test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["CORE_TEST_EMAIL_FILE_PATH"]
ACCOUNT_MAIL_QUEUE = os.environ["CORE_TEST_MAIL_QUEUE"]
