"""What a scenario measures once its faults are over: for every acknowledged event, whether its
lead applied it (lost) and whether the lead applied anything twice (duplicated); and how long
until each lead's stage is the same in its workflow, HubSpot, Salesforce and Segment."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

import httpx
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from chaos.stack import ChaosStack
from config import temporal
from config.playbook_loader import stock_playbook
from connectors.stage_fields import stage_in_crm
from lifecycle.state import LeadState
from workflows.lead_client import LeadClient


async def state_of(leads: LeadClient, email: str) -> LeadState | None:
    with contextlib.suppress(RPCError, WorkflowQueryFailedError):
        return await leads.state(email)
    return None


async def losses(leads: LeadClient, acked: dict[str, list[str]]) -> tuple[int, int]:
    """(acknowledged events no lead applied, applications beyond one per acknowledged event)."""
    lost = duplicated = 0
    for email, ids in acked.items():
        state = await state_of(leads, email)
        seen = set(state.seen_event_ids) if state else set()
        lost += sum(1 for i in set(ids) if i not in seen)
        if state is not None:
            duplicated += max(0, state.events_applied - len(set(ids)))
    return lost, duplicated


async def settled(leads: LeadClient, acked: dict[str, list[str]], timeout: float) -> float:
    """Seconds until every acknowledged event shows in its lead (or `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if (await losses(leads, acked))[0] == 0:
            break
        await asyncio.sleep(1)
    return time.monotonic() - started


def vendor_stages(stack: ChaosStack, since: datetime, playbook: str = "demo_led"
                  ) -> dict[str, dict[str, str | None]]:
    """vendor -> email -> the leadflow stage that vendor shows, read through the real clients."""
    from worker import connector_factory

    pb = stock_playbook(playbook)
    connectors = connector_factory(stack.settings())
    out: dict[str, dict[str, str | None]] = {}
    for vendor in ("hubspot", "salesforce"):
        seen: dict[str, str | None] = {}
        cursor = None
        while True:
            page = connectors(vendor, playbook).changed_since(since, None, cursor)
            for r in page.records:
                seen[r.email] = stage_in_crm(pb, vendor, r.stage_value, r.properties)
            cursor = page.next_cursor
            if not cursor:
                break
        out[vendor] = seen
    events: list[dict[str, Any]] = httpx.get(f"{stack.emulator_url('segment')}/_emulator/state",
                                             params={"events": "1"}, timeout=30).json()["event_list"]
    out["segment"] = {e["userId"]: e["traits"].get("lead_stage") for e in events
                      if e.get("type") == "identify" and e.get("traits", {}).get("lead_stage")}
    return out


async def converged(stack: ChaosStack, leads: LeadClient, emails: list[str], since: datetime,
                    timeout: float) -> tuple[float, dict[str, int]]:
    """(seconds until every lead shows its workflow's stage in all three vendors, and per
    vendor the leads still out of step at the timeout)."""
    started = time.monotonic()
    behind = {"all": len(emails)}
    while time.monotonic() - started < timeout:
        states = {e: await state_of(leads, e) for e in emails}
        try:
            shown = await asyncio.to_thread(vendor_stages, stack, since)
        except Exception:  # a vendor still failing on purpose: look again  # noqa: BLE001
            await asyncio.sleep(2)
            continue
        behind = {v: sum(1 for e, s in states.items() if s is None or seen.get(e) != s.stage)
                  for v, seen in shown.items()}
        if not any(behind.values()):
            return time.monotonic() - started, {}
        await asyncio.sleep(2)
    return time.monotonic() - started, behind


async def connect(stack: ChaosStack) -> Client:
    return await temporal.connect(stack.settings())
