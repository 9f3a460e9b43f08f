"""Reading facts back from the ledger database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from ledger.facts import FACT_COLUMNS, Fact
from ledger.models import FactRow


def _load(engine: Engine, query: Select[Any]) -> list[Fact]:
    with Session(engine) as session:
        return [Fact(**{name: getattr(row, name) for name in FACT_COLUMNS})
                for row in session.scalars(query)]


def lead_facts(engine: Engine, lead_id: str) -> list[Fact]:
    return _load(engine, select(FactRow).where(FactRow.lead_id == lead_id)
                 .order_by(FactRow.seq, FactRow.idx))


def period_facts(engine: Engine, since: datetime, until: datetime, playbook: str | None = None) -> list[Fact]:
    """Every fact before `until` of the leads that have any fact in [since, until)."""
    active = select(FactRow.lead_id).where(FactRow.at >= since, FactRow.at < until)
    if playbook is not None:
        active = active.where(FactRow.playbook == playbook)
    return _load(engine, select(FactRow).where(FactRow.lead_id.in_(active.distinct()), FactRow.at < until)
                 .order_by(FactRow.lead_id, FactRow.seq, FactRow.idx))
