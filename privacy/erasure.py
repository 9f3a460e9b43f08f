"""Forgetting a person (GDPR erasure) by crypto-shredding: `leadflow forget`, HubSpot's
`contact.privacyDeletion` webhook and Salesforce deletions flagged `ShouldForget`.

In order, each step safe to repeat:
1. a tombstone by pseudonym, so events arriving meanwhile are refused (`skipped: forgotten`)
   and no new data key can ever be made for the email;
2. the lead's workflow is closed (the `deleted` signal), then terminated at once if it stays
   open as a tombstone, or when it does not close in time: nothing may need its payloads again;
3. its data key is deleted: its history in Temporal, whatever the retention, is ciphertext;
4. the ledger's facts keep their counts but name the pseudonym instead of the email;
5. vendors erase the records leadflow created there (HubSpot GDPR delete); a vendor the
   request came from, or the lead was imported from, is left alone;
6. an audit entry: who, when, what each system answered.
A dry run reports what would be done and changes nothing but creating the pseudonym key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from config.vendors import Vendor
from connectors.base import VendorError
from ledger.engine import database_url, make_engine
from ledger.erasure import count_facts, pseudonymise
from lifecycle.events import lead_workflow_id, normalize_email
from lifecycle.state import LeadState
from privacy.converter import key_store
from privacy.keystore import KeyStore
from workflows.lead import CLOSURE_MEMO
from workflows.lead_models import DeleteRequest

log = logging.getLogger("leadflow.privacy")

# vendor name -> erase(email); raises VendorError when the vendor refuses
VendorErase = Callable[[str], None]
NO_LEAD = "no lead workflow"


@dataclass
class Erasure:
    pseudonym: str
    dry_run: bool
    systems: dict[str, str] = field(default_factory=dict)
    already_forgotten: bool = False


class Eraser:
    def __init__(self, client: Client, store: KeyStore, ledger: Engine | None,
                 vendors: Mapping[str, VendorErase], close_timeout: float = 30.0) -> None:
        self.client, self.store, self.ledger = client, store, ledger
        self.vendors = dict(vendors)
        self.close_timeout = close_timeout

    async def forget(self, email: str, actor: str, reason: str, origin: str | None = None,
                     dry_run: bool = False) -> Erasure:
        """Erases the person; `origin` names the vendor that asked (it erased its own record)."""
        email = normalize_email(email)
        pseudonym = await self.store.call(self.store.pseudonym, email)
        out = Erasure(pseudonym, dry_run,
                      already_forgotten=await self.store.call(self.store.is_forgotten, pseudonym))
        if not dry_run:
            await self.store.call(self.store.tombstone, pseudonym, actor, reason)
        source, out.systems["temporal"] = await self._close(email, pseudonym, actor, reason, dry_run)
        had_lead = out.systems["temporal"] != NO_LEAD
        confirmed = await self.store.call(self._confirmed, pseudonym)
        out.systems["key"] = await self._shred(pseudonym, dry_run)
        if self.ledger is not None:
            out.systems["ledger"] = await asyncio.to_thread(self._ledger, email, pseudonym, dry_run)
        for vendor, erase in self.vendors.items():
            if vendor in confirmed:
                out.systems[vendor] = confirmed[vendor]
            elif not had_lead:
                out.systems[vendor] = "not asked: leadflow never synced this email"
            else:
                out.systems[vendor] = await self._vendor(vendor, erase, email, source, origin, dry_run)
        if not dry_run:
            await self.store.call(self.store.audit, pseudonym, actor, reason, out.systems)
            log.info("forgot lead %s (%s): %s", pseudonym, reason, out.systems)
        return out

    def _confirmed(self, pseudonym: str) -> dict[str, str]:
        """Vendors that confirmed an earlier erasure of this person: not asked again."""
        return {system: outcome for entry in self.store.erasures(pseudonym)
                for system, outcome in entry.systems.items()
                if system in self.vendors and outcome.startswith("erased")}

    async def _close(self, email: str, pseudonym: str, actor: str, reason: str,
                     dry_run: bool) -> tuple[str | None, str]:
        """(the lead's source, what happened to its workflow)."""
        handle = self.client.get_workflow_handle(lead_workflow_id(email))
        try:
            status = (await handle.describe()).status
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None, NO_LEAD
            raise
        source = await self._source(email, pseudonym)
        if status != WorkflowExecutionStatus.RUNNING:
            return source, "already closed"
        if dry_run:
            return source, "would close the running lead"
        await handle.signal("deleted", DeleteRequest(reason=f"forgotten: {reason}", actor=actor))
        try:
            status = await asyncio.wait_for(self._closed(handle), self.close_timeout)
        except TimeoutError:
            outcome = "terminated (did not close in time)"
        else:
            if status == WorkflowExecutionStatus.COMPLETED:  # a run from before tombstones
                return source, "closed"
            # A tombstone keeps running (and keeps its payloads): it ends here, at once.
            outcome = "closed, then terminated" if status == WorkflowExecutionStatus.RUNNING \
                else "terminated"
        with contextlib.suppress(RPCError):  # it may have ended meanwhile
            await handle.terminate("forgotten (GDPR erasure)")
        return source, outcome

    @staticmethod
    async def _closed(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus | None:
        """Waits until the lead has closed: its run ended, or it records its closure (the memo a
        tombstone keeps); returns its status then."""
        while True:
            desc = await handle.describe()
            if desc.status != WorkflowExecutionStatus.RUNNING \
                    or await desc.memo_value(CLOSURE_MEMO, None) is not None:
                return desc.status
            await asyncio.sleep(0.2)

    async def _source(self, email: str, pseudonym: str) -> str | None:
        """Where the lead came from (the CRM it was imported from), while its key still opens."""
        if not await self.store.call(self.store.has_lead_key, pseudonym):
            return None
        try:
            state: LeadState = await self.client.get_workflow_handle(lead_workflow_id(email)).query(
                "state", result_type=LeadState, rpc_timeout=timedelta(seconds=10))
        except Exception:  # noqa: BLE001 - no worker, or nothing decodable: the origin is unknown
            return None
        return state.source if state is not None else None

    async def _shred(self, pseudonym: str, dry_run: bool) -> str:
        if dry_run:
            exists = await self.store.call(self.store.has_lead_key, pseudonym)
            return "would delete the data key" if exists else "no data key"
        deleted = await self.store.call(self.store.delete_lead_key, pseudonym)
        return "data key deleted" if deleted else "no data key"

    def _ledger(self, email: str, pseudonym: str, dry_run: bool) -> str:
        assert self.ledger is not None
        if dry_run:
            return f"would pseudonymise {count_facts(self.ledger, email)} facts"
        return f"{pseudonymise(self.ledger, email, pseudonym)} facts pseudonymised"

    async def _vendor(self, vendor: str, erase: VendorErase, email: str, source: str | None,
                      origin: str | None, dry_run: bool) -> str:
        if vendor == origin:
            return f"erased by {vendor} (the request came from there)"
        if source == vendor:
            return f"not asked: the record was {vendor}'s own (the lead was imported from it)"
        if dry_run:
            return "would ask for erasure"
        try:
            await asyncio.to_thread(erase, email)
        except VendorError as exc:
            return f"failed: {exc.code} (run forget again)"
        return "erased"


def vendor_erasers(settings: Settings) -> dict[str, VendorErase]:
    """The vendors leadflow can ask to erase a person, when their credentials are set: HubSpot's
    GDPR delete, Salesforce's delete of the Leads leadflow keyed. (Segment: docs/privacy.md.)"""
    erasers: dict[str, VendorErase] = {}
    if settings.hubspot_access_token is not None:
        from connectors.hubspot import HubSpotConnector
        erasers[Vendor.HUBSPOT] = HubSpotConnector.from_settings(settings, {}).gdpr_delete
    if settings.salesforce_username or settings.salesforce_session_id:
        from connectors.salesforce import SalesforceConnector
        erasers[Vendor.SALESFORCE] = SalesforceConnector.from_settings(settings, {}).erase_lead
    return erasers


def eraser(client: Client, settings: Settings, store: KeyStore | None = None,
           close_timeout: float = 30.0) -> Eraser:
    """The configured eraser: the key store, the ledger's database, the vendors with credentials."""
    return Eraser(client, store or key_store(settings), make_engine(database_url(settings)),
                  vendor_erasers(settings), close_timeout=close_timeout)
