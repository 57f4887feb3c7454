"""Settings for the web server and worker of the operations tests: the CV workers' settings (the model is the
test's local fake) plus the webhook secret the test signs with, given through OPS_TEST_* variables (the test
settings blank every STRIPE_* variable)."""

import os

from cv.tests.worker_settings import *  # noqa: F403

STRIPE_WEBHOOK_SECRET = os.environ.get("OPS_TEST_STRIPE_WEBHOOK_SECRET", "")
