"""Erasing a person from the ledger without changing what reports count.

A forgotten lead's facts stay (conversion, SLA and loss figures keep their counts) but every
field that named the person now holds the lead's pseudonym (a keyed hash from the key store):
`email` and `lead_id`, and any mention of the email in other leads' facts (a survivor's
"absorbed lead:<email>"). Running it again finds nothing left to change.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, or_, select, update

from ledger.engine import migrate
from ledger.models import FactRow

# Free-text columns that can quote another lead's email.
TEXT_COLUMNS = ("reason", "detail", "cause", "actor", "event_id")


def forgotten_email(pseudonym: str) -> str:
    return f"forgotten:{pseudonym}"


def count_facts(engine: Engine, email: str) -> int:
    migrate(engine)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FactRow)
                            .where(_mentions(email))).scalar_one()


def pseudonymise(engine: Engine, email: str, pseudonym: str) -> int:
    """Replaces the email with the pseudonym wherever the ledger holds it; returns rows changed."""
    migrate(engine)
    alias = forgotten_email(pseudonym)
    with engine.begin() as conn:
        changed = conn.execute(update(FactRow).where(FactRow.email == email).values(
            email=alias, lead_id=f"lead:{alias}")).rowcount
        for name in TEXT_COLUMNS:
            column = getattr(FactRow, name)
            changed += conn.execute(update(FactRow).where(column.contains(email, autoescape=True))
                                    .values({name: func.replace(column, email, alias)})).rowcount
    return changed


def _mentions(email: str):  # type: ignore[no-untyped-def]
    return or_(FactRow.email == email,
               *(getattr(FactRow, n).contains(email, autoescape=True) for n in TEXT_COLUMNS))
