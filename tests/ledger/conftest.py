"""Ledger databases for the tests: an SQLite file, and a PostgreSQL database on the local cluster
that scripts/system-deps.sh installs and starts (created here through the `postgres` OS user, so a
fresh Debian install with its default peer authentication works)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger.engine import make_engine, migrate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "temporal"))  # lead_harness

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


@pytest.fixture(scope="session")
def pg_admin() -> None:
    psql(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_ROLE}') THEN "
         f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{PG_PASSWORD}'; END IF; END$$;")


@pytest.fixture
def pg_url(pg_admin: None) -> Iterator[str]:
    name = f"leadflow_test_{uuid.uuid4().hex[:10]}"
    psql(f"CREATE DATABASE {name} OWNER {PG_ROLE}")
    try:
        yield f"postgresql+psycopg://{PG_ROLE}:{PG_PASSWORD}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def ledger_engine(ledger_url: str) -> Iterator[Engine]:
    engine = make_engine(ledger_url)
    migrate(engine)
    yield engine
    engine.dispose()
