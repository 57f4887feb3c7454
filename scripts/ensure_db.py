"""Create the PostgreSQL database named in DATABASE_URL if it does not exist yet (idempotent)."""

import os
import sys
from pathlib import Path
from typing import Any

import environ
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
environ.Env.read_env(ROOT / ".env", overwrite=False)
url = os.environ.get("DATABASE_URL", "postgres://127.0.0.1:5432/cvimprover")
config = environ.Env.db_url_config(url)
name = config["NAME"]
conninfo: dict[str, Any] = {
    "host": config.get("HOST") or "127.0.0.1",
    "port": config.get("PORT") or 5432,
    "user": config.get("USER") or None,
    "password": config.get("PASSWORD") or None,
    "dbname": "postgres",
}
try:
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
        else:
            print(f"database {name} exists")
except psycopg.OperationalError as exc:
    sys.exit(f"Cannot reach PostgreSQL at {conninfo['host']}:{conninfo['port']}: {exc}")
