"""The ledger_facts table: one row per fact, unique by (lead_id, seq, idx).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from ledger.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_facts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lead_id", sa.String(320), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("account_domain", sa.String(255)),
        sa.Column("playbook", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(100)),
        sa.Column("campaign", sa.String(200)),
        sa.Column("team", sa.String(100)),
        sa.Column("owner", sa.String(200)),
        sa.Column("previous_owner", sa.String(200)),
        sa.Column("stage", sa.String(100)),
        sa.Column("from_stage", sa.String(100)),
        sa.Column("to_stage", sa.String(100)),
        sa.Column("cause", sa.String(100)),
        sa.Column("event_id", sa.String(200)),
        sa.Column("event_kind", sa.String(50)),
        sa.Column("actor", sa.String(200)),
        sa.Column("reason", sa.Text),
        sa.Column("score_before", sa.Integer),
        sa.Column("score_after", sa.Integer),
        sa.Column("imported", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("sla_started_at", UtcDateTime()),
        sa.Column("sla_due_at", UtcDateTime()),
        sa.Column("vendor", sa.String(50)),
        sa.Column("detail", sa.Text),
        sa.UniqueConstraint("lead_id", "seq", "idx", name="uq_ledger_facts_entry"),
    )
    op.create_index("ix_ledger_facts_at", "ledger_facts", ["at"])
    op.create_index("ix_ledger_facts_email", "ledger_facts", ["email"])


def downgrade() -> None:
    op.drop_table("ledger_facts")
