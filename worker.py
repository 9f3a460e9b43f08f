"""The leadflow worker: lead workflows on the main task queue, one queue per vendor.

Each vendor's queue takes many activities at once, so that the vendor's batcher
(activities/batcher.py) can coalesce them into batch requests; the vendor's request budget is
kept by its connector, from the vendor's own rate-limit headers. Run it with `leadflow worker`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cache
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.account import AccountActivities
from activities.backfill import BackfillActivities
from activities.lead_config import LeadConfigActivities
from activities.ledger import ledger_activity
from activities.merge import MergeActivities
from activities.routing import RoutingActivities
from activities.sync import SyncActivities
from config.metrics import runtime_for
from config.playbook_catalog import PlaybookCatalog
from config.playbook_loader import playbook_catalog, stock_playbook
from config.settings import Settings, load_settings
from config.temporal import connect
from config.vendors import Vendor
from connectors.base import Connector
from leadflow.heap import limit_malloc_arenas
from lifecycle.field_sync import read_names
from privacy.converter import key_store_of
from workflows.account import AccountWorkflow
from workflows.backfill import BackfillWorkflow
from workflows.lead import LeadWorkflow
from workflows.lead_models import vendor_queue
from workflows.queue_config import QueueConfigWorkflow
from workflows.queue_config_client import publish
from workflows.reconcile import ReconcileWorkflow
from workflows.team_router import TeamRouterWorkflow

log = logging.getLogger("leadflow.worker")

# Vendor activities one worker runs at once: they mostly wait for their batch (async, no
# thread each), and a batch fills only with that many waiting together (HubSpot takes 100).
VENDOR_CONCURRENCY = 1000

WORKFLOWS: list[type] = [LeadWorkflow, BackfillWorkflow, ReconcileWorkflow, TeamRouterWorkflow,
                         AccountWorkflow, QueueConfigWorkflow]


def configured_vendors(settings: Settings) -> list[Vendor]:
    """Vendors with credentials (or an emulator) configured; others are not synced."""
    vendors = []
    if settings.hubspot_access_token:
        vendors.append(Vendor.HUBSPOT)
    if (settings.salesforce_username or settings.salesforce_session_id
            or settings.salesforce_client_id):
        vendors.append(Vendor.SALESFORCE)
    if settings.segment_write_key:
        vendors.append(Vendor.SEGMENT)
    return vendors


def connector_factory(settings: Settings) -> Callable[[str, str], Connector]:
    """Builds (and caches) one connector per vendor and playbook from the settings."""

    @cache
    def build(vendor: str, playbook: str) -> Connector:
        if vendor == Vendor.SEGMENT:  # Segment needs no field mapping, so one connector serves all
            from connectors.segment import SegmentConnector
            return SegmentConnector.from_settings(settings, {})
        pb = stock_playbook(playbook)
        mapping = pb.field_mapping
        if vendor == Vendor.HUBSPOT:
            from connectors.hubspot import HubSpotConnector
            hubspot = HubSpotConnector.from_settings(settings, mapping.get("hubspot", {}))
            hubspot.read_fields = tuple(read_names(pb, vendor))  # the playbook's fields too
            return hubspot
        if vendor == Vendor.SALESFORCE:
            from connectors.salesforce import SalesforceConnector
            salesforce = SalesforceConnector.from_settings(settings, mapping.get("salesforce", {}))
            salesforce.read_fields = tuple(read_names(pb, vendor))
            return salesforce
        raise ValueError(f"unknown vendor {vendor!r}")

    return build


# perf (issue 16): the workers run workflow code unsandboxed. The sandbox cost about a fifth of
# the worker's CPU per new MQL: a runtime per workflow run, and code compiled and run inside it for
# every payload of every activation (the SDK asks the sandboxed instance for each payload's
# serialization context): py-spy --gil on bench/ingest_latency.py at 20/s. Back to back, p99
# request -> stage in all 3 vendors went from 21.1 to 9.4 s (later runs of the same code: 9.4 to
# 42.0 s, as the machine's speed drifted).
# The sandbox still guards determinism where a change is checked: the replay tests run every
# recorded history through SANDBOX, which re-imports leadflow's own modules for each run, so
# workflow code that reaches for the clock, randomness, threads or I/O fails there
# (RestrictedWorkflowAccessError). Only third-party modules are passed through: a module passed
# through keeps the real `datetime`, unchecked. Temporal's Python SDK documents both runners
# (README, "Workflow Sandbox": "Skipping Sandbox", "Passthrough Modules").
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()
# email-validator imports inside its functions (`from . import SPECIAL_USE_DOMAIN_NAMES`): passed
# through, a lead's email check neither re-imports it (and idna) per workflow run nor warns.
PASSED_THROUGH = ("email_validator", "idna")
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))


@asynccontextmanager
async def running_workers(
    client: Client,
    task_queue: str,
    vendors: Sequence[str],
    connectors: Callable[[str, str], Connector],
    executor: ThreadPoolExecutor,
    ledger: Callable[..., Any] | None = None,
    omit_search_attributes: Sequence[str] = (),
    catalog: PlaybookCatalog | None = None,
    accounts: bool = False,
    workflow_cache: int = 1000,
) -> AsyncIterator[list[Worker]]:
    """The main worker (lead workflows, their config, merges and the ledger) and one per vendor,
    polling for the block; they finish their in-flight tasks when it ends. `catalog`: the
    playbooks leads get (default: LEADFLOW_PLAYBOOK_DIR's). `accounts`: leads report to
    AccountWorkflows, which sync companies / Accounts (the worker process turns it on with
    LEADFLOW_ACCOUNTS, default true).

    Before polling, the workers publish what their lead_config answers (workflows/queue_config.py),
    so the starters of new leads can hand it over in the start."""
    setup = LeadConfigActivities(list(vendors), ledger=ledger is not None,
                                 omit_search_attributes=omit_search_attributes, catalog=catalog,
                                 accounts=accounts)
    account = AccountActivities(client, task_queue, vendors, connectors)
    ops = MergeActivities(client, task_queue)
    store = key_store_of(client.data_converter)
    sync = SyncActivities(connectors, remember=store.remember_record if store else None)
    backfill = BackfillActivities(client, task_queue, list(vendors), connectors, sync.upserts,
                                  forgotten=store.forgotten if store else None,
                                  config=setup.config_for)
    routing = RoutingActivities(client, task_queue, vendors, connectors, accounts=accounts)
    main: list[Callable[..., Any]] = [setup.lead_config, ops.forward_merge, ops.forward_events,
                                      backfill.backfill_pages,
                                      routing.assign_owner, routing.reconcile_owners,
                                      account.join_account]
    workers = [Worker(client, task_queue=task_queue, workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER,
                      max_cached_workflows=workflow_cache,
                      activities=main + ([ledger] if ledger else []), activity_executor=executor,
                      # a backfill's cursor reaches the server within 2 s of each page it finishes
                      max_heartbeat_throttle_interval=timedelta(seconds=2))]
    for vendor in vendors:
        workers.append(Worker(
            client, task_queue=vendor_queue(task_queue, vendor),
            activities=[sync.sync_lead, sync.create_owner_task, sync.emit_analytics,
                        sync.sync_account],
            max_concurrent_activities=VENDOR_CONCURRENCY,
        ))
    await publish(client, task_queue, setup.published())
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield workers
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    # Every playbook of LEADFLOW_PLAYBOOK_DIR is checked before anything runs: a bad file stops
    # the worker with file: field: reason (PlaybookError).
    catalog = playbook_catalog(settings.playbook_directory, settings.playbook)
    log.info("playbooks from %s: %s", settings.playbook_directory, ", ".join(sorted(catalog.current)))
    client = await connect(settings, runtime=runtime_for(settings.metrics_host, settings.metrics_port))
    vendors = configured_vendors(settings)
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with running_workers(client, settings.task_queue, vendors,
                                   connector_factory(settings), executor,
                                   ledger=ledger_activity(settings),
                                   omit_search_attributes=settings.omitted_search_attributes,
                                   catalog=catalog, accounts=settings.accounts,
                                   workflow_cache=settings.workflow_cache):
            log.info("worker polling %s (vendors: %s)", settings.task_queue, ", ".join(vendors) or "none")
            await stop.wait()
            log.info("shutting down: finishing in-flight tasks")


async def main() -> None:
    limit_malloc_arenas()  # before the Temporal runtime and the executor start their threads
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_workers(load_settings(), stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
