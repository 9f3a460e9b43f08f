"""Where the ledger lives: SQLite under the data directory by default, or LEADFLOW_DATABASE_URL
(e.g. postgresql+psycopg://user:pass@host/db). The schema is brought up to date by Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text

from config.settings import Settings

SQLITE_FILE = "ledger.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    path = Path(settings.data_dir).resolve() / SQLITE_FILE
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets `leadflow report` read while the worker writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Applies the packaged Alembic migrations (idempotent: a current schema is left alone)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # workers starting together migrate one at a time
            connection.execute(text("SELECT pg_advisory_xact_lock(7207)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ledger_engine(settings: Settings) -> Engine:
    """The configured ledger's engine, with its schema up to date."""
    engine = make_engine(database_url(settings))
    migrate(engine)
    return engine
