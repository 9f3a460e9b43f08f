"""Handing a plan's actions to Temporal through LeadClient, and knowing when that is impossible.

A lead's actions go in order; different leads go concurrently. The request is answered
only when every action was accepted; any Temporal outage becomes TemporalUnavailable,
which the app answers with 503 and Retry-After. Redelivery is harmless: the lead
workflow drops event ids it has seen, and a closed workflow cannot be merged twice.

A deleted lead stays closed: an event for it changes nothing and is answered as skipped ("lead
was deleted in Salesforce on ..."); an event for a merged-away email goes to the survivor.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import defaultdict
from datetime import timedelta

from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from config.playbook_catalog import PlaybookCatalog
from config.settings import Settings
from config.temporal import connect
from ingest.actions import Action, Delete, Forget, Merge, Plan, Signal, lead_of
from ingest.metrics import IngestMetrics
from ingest.models import Skipped
from lifecycle.closure import notice
from privacy.converter import encryption_keys, key_store
from privacy.erasure import Eraser, eraser
from workflows.lead_client import LeadClient, started

log = logging.getLogger("leadflow.ingest")

# Fail fast: the sender retries, so a long wait here only holds its connection open.
RETRY = RetryConfig(initial_interval_millis=100, max_interval_millis=500, max_retries=3,
                    max_elapsed_time_millis=3000)
CONCURRENT_LEADS = 32
# A server that accepts connections but does not answer must not hold the sender forever.
CALL_TIMEOUT_S = 10.0


class TemporalUnavailable(Exception):
    pass


class Delivery:
    def __init__(self, settings: Settings, metrics: IngestMetrics,
                 catalog: PlaybookCatalog | None = None) -> None:
        self.settings, self.metrics = settings, metrics
        self.catalog = catalog  # selects each new lead's playbook
        self._leads_client: LeadClient | None = None
        self._lock = asyncio.Lock()
        # Erasure and tombstones need the key store: only with LEADFLOW_ENCRYPTION_KEYS set.
        self._store = key_store(settings) if encryption_keys(settings) is not None else None
        self._eraser: Eraser | None = None

    async def _leads(self) -> LeadClient:
        async with self._lock:
            if self._leads_client is None:
                # Lazy: the service starts (and answers 503) while Temporal is still down.
                client = await connect(self.settings, retry_config=RETRY, lazy=True)
                # One for the service: it keeps the workers' published config between requests.
                self._leads_client = LeadClient(client, self.settings.task_queue,
                                                self.settings.playbook, self.catalog)
        return self._leads_client

    async def screen(self, plan: Plan) -> Plan:
        """Moves every action for a forgotten email into `skipped`: it must never come back."""
        if self._store is None:
            return plan
        store, kept, skipped = self._store, [], list(plan.skipped)
        for action in plan.actions:
            emails = [action.merged_email, action.survivor_email] if isinstance(action, Merge) \
                else [action.email]
            if not isinstance(action, Forget) and await store.forgotten(emails):
                ref = action.event.event_id if isinstance(action, Signal) else type(action).__name__.lower()
                skipped.append(Skipped(ref=ref, reason="forgotten"))
            else:
                kept.append(action)
        return Plan(actions=kept, skipped=skipped)

    async def recorded_emails(self, vendor: str, record_ids: list[int]) -> dict[int, str]:
        """Emails of vendor records leadflow synced (kept sealed in the key store), for a vendor
        that no longer answers for them (HubSpot after a GDPR delete)."""
        if self._store is None or not record_ids:
            return {}
        store = self._store
        found = {rid: await store.call(store.email_of_record, vendor, str(rid)) for rid in record_ids}
        return {rid: email for rid, email in found.items() if email}

    async def healthy(self) -> bool:
        try:
            leads = await self._leads()
            return await leads.client.service_client.check_health(timeout=timedelta(seconds=2))
        except (RuntimeError, RPCError):
            return False

    async def deliver(self, actions: list[Action], source: str) -> list[Skipped]:
        """Returns once Temporal accepted every action (but the skipped ones, returned: events
        for deleted leads); raises TemporalUnavailable otherwise."""
        try:
            leads = await self._leads()
        except RuntimeError as exc:
            raise TemporalUnavailable(str(exc)) from None
        per_lead: dict[str, list[Action]] = defaultdict(list)
        for action in actions:
            per_lead[lead_of(action)].append(action)
        gate = asyncio.Semaphore(CONCURRENT_LEADS)
        skipped: list[Skipped] = []

        async def in_order(queue: list[Action]) -> None:
            async with gate:
                for action in queue:
                    if (why := await self._one(leads, action, source)) is not None:
                        skipped.append(why)

        results = await asyncio.gather(*(in_order(q) for q in per_lead.values()),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return skipped

    async def _one(self, leads: LeadClient, action: Action, source: str) -> Skipped | None:
        operation = type(action).__name__.lower()
        started = time.perf_counter()
        try:
            skipped = await asyncio.wait_for(self._call(leads, action), CALL_TIMEOUT_S)
        except TimeoutError:
            # It may have landed anyway; the sender's retry then counts once.
            raise TemporalUnavailable(f"no answer from Temporal within {CALL_TIMEOUT_S}s") from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and not isinstance(action, Signal):
                # No such lead, or it already closed: a redelivered merge or deletion.
                self.metrics.actions.labels(source, f"{operation}-no-lead").inc()
                return None
            # No email here: logs at INFO and above never name a person.
            log.warning("Temporal refused %s: %s (%s)", operation, exc.message,
                        exc.status.name if exc.status else "?")
            raise TemporalUnavailable(exc.message) from None
        except RuntimeError as exc:  # no connection could be made at all
            raise TemporalUnavailable(str(exc)) from None
        self.metrics.signal_latency.labels(operation).observe(time.perf_counter() - started)
        self.metrics.actions.labels(source, "closed-lead" if skipped else operation).inc()
        return skipped

    async def _call(self, leads: LeadClient, action: Action) -> Skipped | None:
        if isinstance(action, Signal):
            # Signal first, read the closure only of a lead that already existed: a new lead (the
            # hot path) costs one call. A merge's tombstone forwards the event to the survivor
            # itself; a deleted one drops it (a closed lead refuses facts), answered as skipped.
            handle = await leads.send_event(action.email, action.event)
            if not started(handle):
                closure = await leads.closure_of(handle)
                if closure is not None and closure.survivor is None:
                    return Skipped(ref=action.event.event_id, reason=notice(closure))
        elif isinstance(action, Merge):
            await leads.merge(action.merged_email, action.survivor_email, action.actor)
        elif isinstance(action, Delete):
            await leads.delete(action.email, action.reason, action.actor)
        elif isinstance(action, Forget):
            if self._store is None:  # no key store: the best leadflow can do is close the lead
                await leads.delete(action.email, action.reason, action.actor)
                return None
            if self._eraser is None:
                self._eraser = eraser(leads.client, self.settings, self._store, close_timeout=5.0)
            await self._eraser.forget(action.email, action.actor, action.reason, origin=action.origin)
        return None

    async def close(self) -> None:
        """Lets go of the Temporal client while the loop still runs (sdk-python#300)."""
        self._leads_client = None
        gc.collect()
        await asyncio.sleep(0.1)
