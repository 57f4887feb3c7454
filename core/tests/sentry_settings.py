"""The test settings with one more URL, a view that crashes holding a CV's text (core.tests.sentry_crash_urls)."""

from cvimprover.settings_test import *  # noqa: F403

ROOT_URLCONF = "core.tests.sentry_crash_urls"
