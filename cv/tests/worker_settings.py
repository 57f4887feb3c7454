"""Settings for the Celery workers the CV integration tests start: the test settings, plus an LLM.

The test settings blank OPENAI_* (a developer's real key must never reach a test); these workers talk to the
test's local fake OpenAI server instead, given through CV_TEST_* variables, with short timeouts and leases.
"""

import os

from cvimprover.settings_test import *  # noqa: F403

OPENAI_API_KEY = os.environ.get("CV_TEST_OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("CV_TEST_OPENAI_BASE_URL") or None
OPENAI_TIMEOUT = float(os.environ.get("CV_TEST_OPENAI_TIMEOUT", "5"))
OPENAI_MAX_ATTEMPTS = int(os.environ.get("CV_TEST_OPENAI_MAX_ATTEMPTS", "3"))
JOB_LEASE_SECONDS = int(os.environ.get("CV_TEST_JOB_LEASE_SECONDS", "30"))
CV_RETRY_BASE_SECONDS = float(os.environ.get("CV_TEST_RETRY_BASE_SECONDS", "0.2"))
CV_ANALYSIS_QUEUE = os.environ.get("CV_TEST_ANALYSIS_QUEUE") or None
OPENAI_REWRITE = os.environ.get("CV_TEST_OPENAI_REWRITE", "whole")
