"""The key store's tables, in the ledger's database by default (migration 0002).

`privacy_keys` holds wrapped keys: each lead's data key (`lead:<pseudonym>`) and the pseudonym
key itself, each sealed by a master key whose id is kept beside it. Erasing a lead deletes its
row; `privacy_forgotten` then remembers, by pseudonym only, that the email must not come back,
and `privacy_erasures` is the audit trail of every erasure (who, when, which systems confirmed).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, UtcDateTime


class WrappedKeyRow(Base):
    __tablename__ = "privacy_keys"

    key_ref: Mapped[str] = mapped_column(String(100), primary_key=True)  # lead:<pseudonym> | pseudonym
    master_key_id: Mapped[str] = mapped_column(String(100))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class VendorRecordRow(Base):
    """A vendor's record id for a lead, with the email sealed under the lead's data key: HubSpot's
    `contact.privacyDeletion` names a contact HubSpot no longer answers for, so leadflow must
    know whose it was; after an erasure the email here is unreadable too."""

    __tablename__ = "privacy_vendor_records"

    vendor: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(100), index=True)
    sealed_email: Mapped[bytes] = mapped_column(LargeBinary)


class ForgottenRow(Base):
    """The tombstone: later events for this pseudonym are refused, the lead never comes back."""

    __tablename__ = "privacy_forgotten"

    pseudonym: Mapped[str] = mapped_column(String(100), primary_key=True)
    forgotten_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class ErasureRow(Base):
    __tablename__ = "privacy_erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pseudonym: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    # {"temporal": "closed", "key": "deleted", "ledger": "12 rows", "hubspot": "erased", ...}
    systems: Mapped[dict[str, str]] = mapped_column(JSON)
