"""The development SECRET_KEY: random per machine, generated once, never in the repository.

Imported by the settings, so it uses nothing from Django's configuration.
"""

import os
import secrets
from pathlib import Path

# What Django's own deployment check (security.W009) accepts as a key nobody guessed.
MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5


def is_strong_secret_key(key: str) -> bool:
    return len(key) >= MIN_LENGTH and len(set(key)) >= MIN_UNIQUE_CHARACTERS and not key.startswith("django-insecure")


def development_secret_key(path: Path) -> str:
    """The key kept in `path` (mode 0600), created with a fresh random key on first use.

    Several processes start at once (web, worker, beat): the key is written to a private temporary file
    and published with a hard link, which fails if another process got there first, so every process
    ends up with the same complete key.
    """
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(MIN_LENGTH) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


# manage.py commands that only read or change the database schema: nothing they do is signed, so they may
# run on a machine with no configuration (a CI job's `makemigrations --check`) with a throwaway key.
SCHEMA_COMMANDS = frozenset({"makemigrations", "migrate", "showmigrations", "sqlmigrate"})


def runs_schema_command(argv: list[str]) -> bool:
    return len(argv) > 1 and Path(argv[0]).name == "manage.py" and argv[1] in SCHEMA_COMMANDS


def throwaway_secret_key() -> str:
    return secrets.token_urlsafe(MIN_LENGTH)
