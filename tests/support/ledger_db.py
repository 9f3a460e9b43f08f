"""PostgreSQL databases for the tests, on the local cluster scripts/system-deps.sh installs and
starts; created through the `postgres` OS user, so Debian's default peer authentication works."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ROLE = PG_PASSWORD = "leadflow_test"


def psql(sql: str) -> str:
    """Runs SQL as the cluster's superuser: `su postgres` when root (CI), else the current user."""
    args = ["psql", "-v", "ON_ERROR_STOP=1", "-qAtc", sql]
    if os.geteuid() == 0:
        cmd = ["su", "postgres", "-c", " ".join(_quote(a) for a in args)]
    else:
        cmd = [*args, "-h", PG_HOST, "-p", str(PG_PORT), "-d", "postgres"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({done.stderr.strip()}); is PostgreSQL running? "
                           "run scripts/system-deps.sh")
    return done.stdout


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh database owned by the test role; dropped afterwards."""
    psql(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_ROLE}') THEN "
         f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{PG_PASSWORD}'; END IF; END$$;")
    name = f"leadflow_test_{uuid.uuid4().hex[:10]}"
    psql(f"CREATE DATABASE {name} OWNER {PG_ROLE}")
    try:
        yield f"postgresql+psycopg://{PG_ROLE}:{PG_PASSWORD}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
