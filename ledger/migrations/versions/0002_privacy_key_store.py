"""The key store: wrapped data keys, vendors' record ids per lead, forgotten leads' tombstones,
the erasure audit trail.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from ledger.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_keys",
        sa.Column("key_ref", sa.String(100), primary_key=True),
        sa.Column("master_key_id", sa.String(100), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "privacy_vendor_records",
        sa.Column("vendor", sa.String(50), primary_key=True),
        sa.Column("record_id", sa.String(100), primary_key=True),
        sa.Column("pseudonym", sa.String(100), nullable=False),
        sa.Column("sealed_email", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_privacy_vendor_records_pseudonym", "privacy_vendor_records", ["pseudonym"])
    op.create_table(
        "privacy_forgotten",
        sa.Column("pseudonym", sa.String(100), primary_key=True),
        sa.Column("forgotten_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pseudonym", sa.String(100), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("systems", sa.JSON, nullable=False),
    )
    op.create_index("ix_privacy_erasures_pseudonym", "privacy_erasures", ["pseudonym"])


def downgrade() -> None:
    op.drop_table("privacy_erasures")
    op.drop_table("privacy_forgotten")
    op.drop_table("privacy_vendor_records")
    op.drop_table("privacy_keys")
