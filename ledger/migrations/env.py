"""Alembic environment: migrations run on the connection `ledger.engine.migrate` hands over."""

from alembic import context

import privacy.models  # noqa: F401  (the key store's tables share the ledger's metadata)
from ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
