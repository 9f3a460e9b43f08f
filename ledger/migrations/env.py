"""Alembic environment: migrations run on the connection `ledger.engine.migrate` hands over."""

from alembic import context

from ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
