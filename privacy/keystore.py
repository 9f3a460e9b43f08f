"""The key store: per-lead data keys wrapped by the master key, pseudonyms, tombstones.

A lead is named here only by its pseudonym, a keyed hash of its normalised email (HMAC-SHA256
under a random pseudonym key that the store keeps wrapped like any data key), so the store
itself never holds an email. Erasing a lead deletes its data key: every payload sealed with it,
in Temporal's history or any archive of it, is ciphertext nobody can open again.

Processes cache unwrapped data keys for `cache_seconds` (the worker decodes the same lead's
payloads many times a second); a key deleted elsewhere stops opening payloads there within that
time. The codec server runs with no cache, so an erasure shows in the Web UI at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.engine import migrate
from lifecycle.events import normalize_email
from privacy.keys import MasterKeys, MissingKey, new_key, open_sealed, seal
from privacy.models import ErasureRow, ForgottenRow, VendorRecordRow, WrappedKeyRow

PSEUDONYM_REF = "pseudonym"
LEAD_PREFIX = "lead:"
PSEUDONYM_HEX = 32  # 128 bits of the HMAC: collisions are out of reach for any lead count
T = TypeVar("T")


class LeadForgotten(Exception):
    """The lead was erased: nothing new may be sealed for it (its data key never comes back)."""


def lead_ref(pseudonym: str) -> str:
    return LEAD_PREFIX + pseudonym


class KeyStore:
    def __init__(self, engine: Engine | Callable[[], Engine], keys: MasterKeys,
                 cache_seconds: float = 30.0) -> None:
        self._engine_source = engine
        self._engine: Engine | None = engine if isinstance(engine, Engine) else None
        self._migrated = False
        self.keys = keys
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._pseudonym_key: bytes | None = None
        self._cache: dict[str, tuple[bytes, float]] = {}
        self._remembered: set[tuple[str, str]] = set()
        # Its own threads: the codec runs inside workflow activations, and must never queue
        # behind vendor calls that fill the event loop's default executor (asyncio.to_thread).
        self._threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keystore")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs a blocking key store method off the event loop, on the store's own threads."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def __repr__(self) -> str:
        return f"KeyStore(keys={self.keys!r})"

    @property
    def engine(self) -> Engine:
        """Built and migrated on first use, so a process starts while the database is down."""
        with self._lock:
            if self._engine is None:
                assert callable(self._engine_source)
                self._engine = self._engine_source()
            if not self._migrated:
                migrate(self._engine)
                self._migrated = True
            return self._engine

    # -- pseudonyms ---------------------------------------------------------------------------

    def pseudonym(self, email: str) -> str:
        """The lead's stable keyed hash: the same on every process, unreadable without the store."""
        if self._pseudonym_key is None:
            self._pseudonym_key = self._get_or_create(PSEUDONYM_REF, tombstone=None)
        digest = hmac.new(self._pseudonym_key, normalize_email(email).encode(), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_HEX]

    def pseudonym_if_ready(self, email: str) -> str | None:
        """The pseudonym without touching the database, once the pseudonym key is loaded."""
        return None if self._pseudonym_key is None else self.pseudonym(email)

    # -- data keys ----------------------------------------------------------------------------

    def cached_key(self, pseudonym: str) -> bytes | None:
        cached = self._cache.get(lead_ref(pseudonym))
        return cached[0] if cached is not None and cached[1] > time.monotonic() else None

    def lead_key(self, pseudonym: str, create: bool = False) -> bytes | None:
        """The lead's data key; None when it has none (never had one, or was erased).
        With `create`, a lead without a key gets one, unless it was forgotten (LeadForgotten)."""
        ref = lead_ref(pseudonym)
        cached = self.cached_key(pseudonym)
        if cached is not None:
            return cached
        key = self._get_or_create(ref, tombstone=pseudonym) if create else self._get(ref)
        if key is not None and self.cache_seconds > 0:
            self._cache[ref] = (key, time.monotonic() + self.cache_seconds)
        return key

    def _get(self, ref: str) -> bytes | None:
        with Session(self.engine) as session:
            row = session.get(WrappedKeyRow, ref)
            return None if row is None else self._unwrap(row)

    def _get_or_create(self, ref: str, tombstone: str | None) -> bytes:
        found = self._get(ref)
        if found is not None:
            return found
        key = new_key()
        try:
            with Session(self.engine) as session, session.begin():
                if tombstone is not None and session.get(ForgottenRow, tombstone) is not None:
                    raise LeadForgotten(f"lead {tombstone} was forgotten")
                session.add(WrappedKeyRow(key_ref=ref, master_key_id=self.keys.current_id,
                                          wrapped=seal(self.keys.current, key, ref.encode()),
                                          created_at=datetime.now(UTC)))
        except IntegrityError:  # another process created it first: use theirs
            found = self._get(ref)
            if found is None:
                raise
            return found
        return key

    def _unwrap(self, row: WrappedKeyRow) -> bytes:
        return open_sealed(self.keys.get(row.master_key_id), row.wrapped, row.key_ref.encode())

    def rewrap(self) -> int:
        """Wraps every key still under an older master key with the newest; returns how many.
        After it, older master keys are needed only for payloads sealed with them directly."""
        done = 0
        with Session(self.engine) as session, session.begin():
            for row in session.scalars(select(WrappedKeyRow).where(
                    WrappedKeyRow.master_key_id != self.keys.current_id)):
                key = self._unwrap(row)
                row.wrapped = seal(self.keys.current, key, row.key_ref.encode())
                row.master_key_id = self.keys.current_id
                done += 1
        return done

    def wrapped_by(self) -> dict[str, int]:
        """How many keys each master key wraps (`leadflow keys status`)."""
        with Session(self.engine) as session:
            rows = session.execute(select(WrappedKeyRow.master_key_id, func.count())
                                   .group_by(WrappedKeyRow.master_key_id)).all()
        return {key_id: count for key_id, count in rows}

    # -- vendors' record ids -------------------------------------------------------------------

    async def remember_record(self, vendor: str, record_id: str, email: str) -> None:
        """Keeps which lead a vendor's record is (once per process and record)."""
        if (vendor, record_id) not in self._remembered:
            await self.call(self._remember_record, vendor, record_id, email)
            self._remembered.add((vendor, record_id))

    def _remember_record(self, vendor: str, record_id: str, email: str) -> None:
        pseudonym = self.pseudonym(email)
        try:
            key = self.lead_key(pseudonym, create=True)
        except LeadForgotten:
            return
        assert key is not None
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(VendorRecordRow, (vendor, record_id)) is None:
                    session.add(VendorRecordRow(
                        vendor=vendor, record_id=record_id, pseudonym=pseudonym,
                        sealed_email=seal(key, normalize_email(email).encode(),
                                          f"{vendor}:{record_id}".encode())))
        except IntegrityError:  # remembered by another process meanwhile
            pass

    def email_of_record(self, vendor: str, record_id: str) -> str | None:
        """The email of the lead a vendor's record was, while that lead's key exists."""
        with Session(self.engine) as session:
            row = session.get(VendorRecordRow, (vendor, record_id))
            if row is None:
                return None
            pseudonym, sealed = row.pseudonym, row.sealed_email
        key = self.lead_key(pseudonym)
        if key is None:
            return None
        return open_sealed(key, sealed, f"{vendor}:{record_id}".encode()).decode()

    # -- erasure ------------------------------------------------------------------------------

    def is_forgotten(self, pseudonym: str) -> bool:
        with Session(self.engine) as session:
            return session.get(ForgottenRow, pseudonym) is not None

    def forgotten_among(self, emails: list[str]) -> set[str]:
        """The emails that were forgotten."""
        by_pseudonym = {self.pseudonym(e): e for e in emails}
        with Session(self.engine) as session:
            found = session.scalars(select(ForgottenRow.pseudonym)
                                    .where(ForgottenRow.pseudonym.in_(list(by_pseudonym))))
            return {by_pseudonym[p] for p in found}

    async def forgotten(self, emails: list[str]) -> set[str]:
        return await self.call(self.forgotten_among, emails)

    def tombstone(self, pseudonym: str, actor: str, reason: str) -> bool:
        """Remembers the erasure by pseudonym; False when it was already there."""
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(ForgottenRow, pseudonym) is not None:
                    return False
                session.add(ForgottenRow(pseudonym=pseudonym, forgotten_at=datetime.now(UTC),
                                         actor=actor, reason=reason))
        except IntegrityError:
            return False
        return True

    def delete_lead_key(self, pseudonym: str) -> bool:
        """Crypto-shredding: the lead's payloads can never be opened again. False if no key was left."""
        ref = lead_ref(pseudonym)
        self._cache.pop(ref, None)
        with Session(self.engine) as session, session.begin():
            session.execute(delete(VendorRecordRow).where(VendorRecordRow.pseudonym == pseudonym))
            row = session.get(WrappedKeyRow, ref)
            if row is None:
                return False
            session.delete(row)
            return True

    def has_lead_key(self, pseudonym: str) -> bool:
        with Session(self.engine) as session:
            return session.get(WrappedKeyRow, lead_ref(pseudonym)) is not None

    def audit(self, pseudonym: str, actor: str, reason: str, systems: dict[str, str]) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(ErasureRow(pseudonym=pseudonym, at=datetime.now(UTC), actor=actor,
                                   reason=reason, systems=systems))

    def erasures(self, pseudonym: str) -> list[ErasureRow]:
        with Session(self.engine) as session:
            return list(session.scalars(select(ErasureRow).where(ErasureRow.pseudonym == pseudonym)
                                        .order_by(ErasureRow.id)))


__all__ = ["KeyStore", "LeadForgotten", "MissingKey", "lead_ref"]
