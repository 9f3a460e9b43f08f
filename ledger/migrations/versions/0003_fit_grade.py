"""Issue 19: each fact carries the lead's fit grade (A-D) at the time, for the outcomes report.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_facts", sa.Column("fit_grade", sa.String(1), nullable=True))


def downgrade() -> None:
    op.drop_column("ledger_facts", "fit_grade")
