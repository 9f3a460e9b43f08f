"""The ledger's one table: a row per fact, keyed by (lead_id, seq, idx) so a rewrite is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every dialect (SQLite keeps no offset); read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"ledger times need a time zone, got {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class FactRow(Base):
    __tablename__ = "ledger_facts"
    __table_args__ = (
        UniqueConstraint("lead_id", "seq", "idx", name="uq_ledger_facts_entry"),
        Index("ix_ledger_facts_at", "at"),
        Index("ix_ledger_facts_email", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(String(320))  # the workflow id, lead:<email>
    seq: Mapped[int] = mapped_column(Integer)  # the workflow's ledger entry
    idx: Mapped[int] = mapped_column(Integer)  # the fact's place within that entry
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    email: Mapped[str] = mapped_column(String(320))
    account_domain: Mapped[str | None] = mapped_column(String(255))
    playbook: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(100))
    campaign: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    previous_owner: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(100))  # the stage the fact happened in
    from_stage: Mapped[str | None] = mapped_column(String(100))
    to_stage: Mapped[str | None] = mapped_column(String(100))
    cause: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(200))
    event_kind: Mapped[str | None] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    score_before: Mapped[int | None] = mapped_column(Integer)
    score_after: Mapped[int | None] = mapped_column(Integer)
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sla_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    vendor: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    fit_grade: Mapped[str | None] = mapped_column(String(1))  # issue 19 (migration 0003)
