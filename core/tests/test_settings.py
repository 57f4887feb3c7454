"""Production settings refuse to start insecurely; checked in a fresh interpreter as a server would start."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECRET_KEY", "SECURE_", "JWT_AUTH"))}
    base.update(env, DJANGO_SETTINGS_MODULE="cvimprover.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.REST_AUTH['JWT_AUTH_SECURE'])"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_debug_false_without_a_secret_key_refuses_to_start():
    result = load_settings(DEBUG="False")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_false_turns_on_https_hardening():
    result = load_settings(DEBUG="False", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True"]


def test_each_https_switch_can_be_turned_off_behind_a_proxy():
    result = load_settings(DEBUG="False", SECRET_KEY="x" * 50, SECURE_SSL_REDIRECT="False", JWT_AUTH_SECURE="False")
    assert result.stdout.split() == ["False", "True", "True", "False"]
