"""Settings and start-up checks, each in a fresh interpreter as a server would start: no key in the repository,
a generated development key, production refusing to start insecurely, and `check --deploy` clean."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_CONFIG_PREFIXES = (
    "DEBUG", "SECRET_KEY", "SECURE_", "JWT_AUTH", "EMAIL_", "ACCOUNT_EMAIL", "DJANGO_SETTINGS", "FRONTEND_URL", "SITE_",
)  # fmt: skip
PRINT_HTTPS = (
    "from django.conf import settings as s;"
    "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.REST_AUTH['JWT_AUTH_SECURE'])"
)


def strong_key() -> str:
    return secrets.token_urlsafe(50)


def clean_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The machine's environment without any of the settings under test, and no .env file."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
    base.update(
        ENV_FILE=str(tmp_path / "no.env"),
        SECRET_KEY_FILE=str(tmp_path / "secret_key"),
        DJANGO_SETTINGS_MODULE="cvimprover.settings",
    )
    base.update(env)
    return base


def run_python(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    script = f"import django; django.setup(); {code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "DEBUG": "False",
        "SECRET_KEY": strong_key(),
        "ALLOWED_HOSTS": "api.example.com",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        "FRONTEND_URL": "https://app.example.com",
        **extra,
    }


# A key written as a literal: Python/TOML assignments or keyword arguments, and (outside Python) YAML values
# and dotenv lines. Reading it from the environment (env.str(...), ${SECRET_KEY:?...}) does not match.
_LITERAL_KEY = re.compile(
    r"""(?<!STRIPE_)(SECRET_KEY|SIGNING_KEY)(["']?\s*[:=]|[^\n]*default\s*=)\s*[rbf]?["'][^"'\s]{8,}["']"""
)
_CONFIG_KEY = re.compile(r"""^(export\s+)?SECRET_KEY=[^\s$#]+|^\s*SECRET_KEY:\s*[^\s$]""", re.MULTILINE)
_DJANGO_GENERATED = re.compile(r"django-insecure-[A-Za-z0-9!@#%^&*()_+=-]{20,}")


def committed_keys(name: str, text: str) -> list[str]:
    patterns = [_LITERAL_KEY, _DJANGO_GENERATED] + ([] if name.endswith(".py") else [_CONFIG_KEY])
    return [m.group(0) for pattern in patterns for m in pattern.finditer(text)]


@pytest.mark.parametrize(
    "name, text",
    [
        ("settings.py", '_DEV_SECRET_KEY = "<KEY>"'),
        ("bench.py", 'signing = "django-insecure-<KEY>"'),
        ("settings.py", "SECRET_KEY = env.str('SECRET_KEY', default='<KEY>')"),
        ("conftest.py", 'settings.SECRET_KEY = "<KEY>"'),
        (".env.example", "SECRET_KEY=<KEY>"),
        ("docker-compose.yml", "    SECRET_KEY: <KEY>"),
    ],
)
def test_the_search_finds_a_committed_key(name, text):
    # The sample key is made here: written in this file, it would be a committed key itself.
    assert committed_keys(name, text.replace("<KEY>", secrets.token_urlsafe(20)))


def repository_files() -> list[Path]:
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        return [ROOT / name for name in listed.decode().split("\0") if name]
    skip = {".git", ".venv", "node_modules", "media", "staticfiles"}
    return [p for p in ROOT.rglob("*") if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)]


def test_no_secret_key_is_written_in_the_repository():
    found = []
    files = repository_files()
    assert any(p.name == "settings.py" for p in files)
    for path in files:
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        found += [f"{path.relative_to(ROOT)}: {key}" for key in committed_keys(path.name, text)]
    assert found == []


def test_the_generated_key_file_is_ignored_by_git():
    if not (shutil.which("git") and (ROOT / ".git").exists()):
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", ".secret_key"], cwd=ROOT)
    assert result.returncode == 0


def test_debug_is_off_by_default_and_then_a_secret_key_is_required(tmp_path):
    result = run_python(tmp_path, "print('started')")
    assert result.returncode != 0
    assert "needs a real SECRET_KEY" in result.stderr
    assert "DEBUG=True" in result.stderr  # says how to run for development
    assert not (tmp_path / "secret_key").exists()

    result = run_python(tmp_path, "from django.conf import settings; print(settings.DEBUG)", SECRET_KEY=strong_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "False"


def test_schema_commands_run_without_configuration_and_nothing_else_does(tmp_path):
    """`manage.py makemigrations --check` on a machine with no configuration (a CI job) answers; a command that
    could sign something, or serve, still refuses without a real key."""
    result = manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    refused = manage(tmp_path, "check")
    assert refused.returncode != 0
    assert "needs a real SECRET_KEY" in refused.stderr
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "key",
    ["x" * 64, "short-but-random-Zq8", "django-insecure-" + secrets.token_urlsafe(50)],
    ids=["one-character", "too-short", "django-insecure"],
)
def test_debug_false_refuses_a_weak_key(tmp_path, key):
    result = run_python(tmp_path, "print('started')", DEBUG="False", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_development_generates_a_private_key_once_and_keeps_it(tmp_path):
    key_file = tmp_path / "secret_key"
    code = "from django.conf import settings; print(settings.SECRET_KEY)"

    # web, worker and beat start at the same moment on a fresh checkout: one key for all of them.
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=clean_env(tmp_path, DEBUG="True"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    keys = set()
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        keys.add(out.split()[-1])

    assert len(keys) == 1
    key = keys.pop()
    assert len(key) >= 50
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.glob("*.tmp")) == []

    again = run_python(tmp_path, code, DEBUG="True")
    assert again.stdout.split()[-1] == key

    other_machine = tmp_path / "elsewhere"
    other_machine.mkdir()
    elsewhere = run_python(other_machine, code, DEBUG="True")
    assert elsewhere.stdout.split()[-1] != key


def test_a_key_in_the_environment_wins_and_no_file_is_written(tmp_path):
    key = strong_key()
    result = run_python(
        tmp_path, "from django.conf import settings; print(settings.SECRET_KEY)", DEBUG="True", SECRET_KEY=key
    )
    assert result.stdout.split()[-1] == key
    assert not (tmp_path / "secret_key").exists()


def test_debug_false_turns_on_https_hardening(tmp_path):
    result = run_python(tmp_path, PRINT_HTTPS, DEBUG="False", SECRET_KEY=strong_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["True", "True", "True", "True"]


def test_each_https_switch_can_be_turned_off_behind_a_proxy(tmp_path):
    result = run_python(
        tmp_path,
        PRINT_HTTPS,
        DEBUG="False",
        SECRET_KEY=strong_key(),
        SECURE_SSL_REDIRECT="False",
        JWT_AUTH_SECURE="False",
    )
    assert result.stdout.split()[-4:] == ["False", "True", "True", "False"]


def test_check_deploy_with_production_settings_has_no_warnings(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_production_without_email_configured_warns_at_every_start(tmp_path):
    env = production()
    del env["EMAIL_URL"]

    check = manage(tmp_path, "check", **env)
    assert "cvimprover.W001" in check.stderr
    assert "password-reset" in check.stderr

    # gunicorn and celery never run system checks: the process start itself logs it.
    started = run_python(tmp_path, "print('started')", **env)
    assert started.returncode == 0, started.stderr
    assert "cvimprover.W001" in started.stderr


@pytest.mark.parametrize(
    "email",
    [{"EMAIL_URL": "smtp://smtp.example.com:25"}, {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}],
)
def test_configured_or_explicit_console_email_does_not_warn(tmp_path, email):
    env = production()
    del env["EMAIL_URL"]
    result = manage(tmp_path, "check", **env, **email)
    assert result.returncode == 0, result.stderr
    assert "cvimprover.W001" not in result.stdout + result.stderr


def test_development_does_not_warn_about_the_console_backend(tmp_path):
    result = manage(tmp_path, "check", DEBUG="True")
    assert "cvimprover.W001" not in result.stdout + result.stderr


def test_production_without_frontend_url_warns_at_every_start(tmp_path):
    env = production()
    del env["FRONTEND_URL"]

    check = manage(tmp_path, "check", **env)
    assert "cvimprover.W002" in check.stderr
    assert "FRONTEND_URL" in check.stderr
    deploy = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert deploy.returncode != 0

    # gunicorn and celery never run system checks: the process start itself logs it.
    started = run_python(tmp_path, "print('started')", **env)
    assert started.returncode == 0, started.stderr
    assert "cvimprover.W002" in started.stderr


def test_a_set_frontend_url_or_development_does_not_warn_and_names_the_site(tmp_path):
    code = "from django.conf import settings as s; print(s.FRONTEND_URL, s.SITE_NAME, s.SITE_DOMAIN)"
    result = run_python(tmp_path, code, **production(FRONTEND_URL="https://app.example.com/"))
    assert result.returncode == 0, result.stderr
    assert "cvimprover.W002" not in result.stderr
    assert result.stdout.split()[-3:] == ["https://app.example.com", "CVImprover", "app.example.com"]

    named = run_python(tmp_path, code, **production(SITE_NAME="CV Studio", SITE_DOMAIN="cv.example.org"))
    assert named.stdout.strip().endswith("CV Studio cv.example.org")

    development = manage(tmp_path, "check", DEBUG="True")
    assert "cvimprover.W002" not in development.stdout + development.stderr


def test_an_unknown_email_verification_value_refuses_to_start(tmp_path):
    result = run_python(tmp_path, "print('started')", DEBUG="True", ACCOUNT_EMAIL_VERIFICATION="required")
    assert result.returncode != 0
    assert "ACCOUNT_EMAIL_VERIFICATION must be none, optional or mandatory" in result.stderr


def test_compose_runs_production_and_publishes_only_the_api_on_loopback():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("web", "worker-default", "worker-ai", "worker-pdf", "beat"):
        environment = services[name]["environment"]
        assert environment["DEBUG"] == "False", name
        # Compose refuses to start when SECRET_KEY is unset or empty (the :? form), naming the variable.
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", environment["SECRET_KEY"]), name
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published == {"web": ["${WEB_BIND:-127.0.0.1}:${WEB_PORT:-8000}:8000"]}


@pytest.mark.django_db
def test_with_https_redirect_on_health_probes_over_plain_http_still_get_an_answer(settings):
    from rest_framework.test import APIClient

    settings.SECURE_SSL_REDIRECT = True
    client = APIClient()  # a new client loads the middleware with these settings

    redirected = client.get("/core/plans/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")
    assert client.get("/core/health/").status_code in (200, 503)
