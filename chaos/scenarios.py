"""The scenarios: each drives the running stack through one kind of trouble and returns its
figures. Sizes come from `Size` (the short CI run or the full one)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client

from chaos import check, fuzz
from chaos.stack import SECRETS, TASK_QUEUE, ChaosStack
from chaos.traffic import Sender, event
from emulators.salesforce.callouts import signed_callout
from lifecycle.events import lead_workflow_id
from workflows.backfill_models import BackfillInput, BackfillResult
from workflows.lead_client import LeadClient, closure_in


@dataclass(frozen=True)
class Size:
    leads: int  # leads per load scenario
    storm_s: float  # how long vendors fail
    backfill: int  # contacts seeded for the backfill
    fuzz: int  # bad requests
    converge_s: float  # how long a scenario may take to converge before it counts as failed
    flood: int  # events for one lead before the redelivery


SHORT = Size(leads=30, storm_s=5, backfill=120, fuzz=800, converge_s=150, flood=0)
FULL = Size(leads=200, storm_s=40, backfill=600, fuzz=10_000, converge_s=300, flood=3000)


@dataclass
class Result:
    name: str
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    server_errors: int = 0
    converge_s: float | None = None
    behind: int = 0  # leads still out of step when the scenario gave up waiting
    note: str = ""
    expected_to_fail: str = ""  # an open issue this scenario shows; its failure is reported, not fatal

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.server_errors or self.behind)

    def line(self) -> str:
        verdict = "ok" if self.ok else ("EXPECTED-FAIL" if self.expected_to_fail else "FAIL")
        converge = "-" if self.converge_s is None else f"{self.converge_s:.0f}s"
        text = (f"{self.name:<22} {verdict:<13} acknowledged={self.acknowledged} lost={self.lost} "
                f"applied_twice={self.duplicated} 5xx={self.server_errors} converge={converge}")
        if self.behind:
            text += f" behind={self.behind}"
        if self.note:
            text += f"  ({self.note})"
        if self.expected_to_fail and not self.ok:
            text += f"  [known: {self.expected_to_fail}]"
        return text


Scenario = Callable[[ChaosStack, Client, Size], Awaitable[Result]]


def emails(tag: str, n: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"{tag}-{run}-{i}@chaos.example.com" for i in range(n)]


def sender(stack: ChaosStack) -> Sender:
    return Sender(stack.ingest_url, stack.token)


def begin(stack: ChaosStack, tag: str, n: int) -> tuple[datetime, list[str], Sender]:
    """(a moment just before the scenario's first write, its leads' emails, a sender)."""
    return datetime.now(UTC) - timedelta(seconds=2), emails(tag, n), sender(stack)


def to_mql(addresses: list[str], per_lead: int = 3) -> list[list[dict]]:  # type: ignore[type-arg]
    """Each lead: a demo request (New Lead -> MQL) and page views, in requests of up to 10 leads."""
    events = [event(e, "Demo Requested") if i == 0 else event(e, "Pricing Page Viewed")
              for i in range(per_lead) for e in addresses]
    return [events[i:i + 20] for i in range(0, len(events), 20)]


async def measured(stack: ChaosStack, client: Client, result: Result, send: Sender,
                   addresses: list[str], since: datetime, size: Size) -> Result:
    leads = LeadClient(client, TASK_QUEUE)
    result.acknowledged = send.acknowledged
    result.server_errors = send.server_errors
    await check.settled(leads, send.acked, size.converge_s)
    result.converge_s, behind = await check.converged(stack, leads, addresses, since, size.converge_s)
    result.behind = max(behind.values(), default=0)
    if behind:
        result.note += "; out of step: " + ", ".join(f"{v} {n}" for v, n in behind.items() if n)
    result.lost, result.duplicated = await check.losses(leads, send.acked)
    await send.close()
    return result


async def worker_kill_mid_sync(stack: ChaosStack, client: Client, size: Size) -> Result:
    since, addresses, send = begin(stack, "kill", size.leads)
    batches = to_mql(addresses)
    third = len(batches) // 3
    for part in (batches[:third], batches[third:2 * third]):
        await send.send_all(part)
        await asyncio.sleep(1.0)  # syncs in flight
        stack.kill_worker()
        await asyncio.sleep(2)
        stack.start_worker()
    await send.send_all(batches[2 * third:])
    kills = 2
    result = Result("worker-sigkill-sync", note=f"{kills} SIGKILLs of the worker")
    return await measured(stack, client, result, send, addresses, since, size)


async def worker_kill_mid_backfill(stack: ChaosStack, client: Client, size: Size) -> Result:
    addresses = emails("backfill", size.backfill)
    since = datetime.now(UTC) - timedelta(seconds=5)
    token = stack.env["HUBSPOT_ACCESS_TOKEN"]
    async with httpx.AsyncClient(base_url=stack.emulator_url("hubspot"), timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as hs:
        for i in range(0, len(addresses), 100):  # HubSpot batch create: 100 inputs a request
            answer = await hs.post("/crm/v3/objects/contacts/batch/create", json={"inputs": [
                {"properties": {"email": e, "lifecyclestage": "marketingqualifiedlead"}}
                for e in addresses[i:i + 100]]})
            answer.raise_for_status()
    await asyncio.sleep(3)  # HubSpot search lags writes
    handle = await client.start_workflow(
        "BackfillWorkflow", BackfillInput(source="hubspot", modified_after=since, page_size=50),
        id=f"chaos-backfill-{uuid.uuid4().hex[:6]}", task_queue=TASK_QUEUE, result_type=BackfillResult)
    await asyncio.sleep(3)
    stack.kill_worker()
    await asyncio.sleep(2)
    stack.start_worker()
    started = time.monotonic()
    tally = (await asyncio.wait_for(handle.result(), size.converge_s * 2)).tally
    found = tally.unchanged + tally.updated + tally.pending
    leads = LeadClient(client, TASK_QUEUE)
    lost = duplicated = 0
    for e in addresses:
        state = await check.state_of(leads, e)
        if state is None:
            lost += 1
        elif sum(c.from_stage is None for c in state.history) > 1:
            duplicated += 1
    return Result("worker-sigkill-backfill", acknowledged=len(addresses), lost=lost,
                  duplicated=duplicated, converge_s=time.monotonic() - started,
                  note=f"1 SIGKILL; backfill created {tally.created}, found {found} already started "
                       f"(before the kill), failed {tally.failed}")


async def temporal_restart(stack: ChaosStack, client: Client, size: Size) -> Result:
    since, addresses, send = begin(stack, "restart", size.leads)
    batches = to_mql(addresses)
    half = len(batches) // 2
    await send.send_all(batches[:half])
    stack.stop_temporal()
    during = asyncio.create_task(send.send_all(batches[half:]))  # 503 + Retry-After meanwhile
    await asyncio.sleep(5)
    stack.start_temporal()
    await during
    result = Result("temporal-restart", note=f"server SIGKILLed for 5s; {send.statuses[503]} x 503 "
                                             f"and {send.statuses[0]} refused connections, retried")
    fresh = await check.connect(stack)
    return await measured(stack, fresh, result, send, addresses, since, size)


STORM = {"hubspot": {"status": 429, "policy": "TEN_SECONDLY_ROLLING"},
         "salesforce": {"status": 503}, "segment": {"status": 500}}


async def vendor_storm(stack: ChaosStack, client: Client, size: Size) -> Result:
    since, addresses, send = begin(stack, "storm", size.leads)
    for vendor, spec in STORM.items():
        stack.vendor_faults(vendor, fail_next=1_000_000, latency_s=0.2, **spec)
    storm_end = time.monotonic() + size.storm_s
    try:
        await send.send_all(to_mql(addresses))
        await asyncio.sleep(max(0.0, storm_end - time.monotonic()))
    finally:
        for vendor in STORM:
            stack.vendor_faults(vendor, fail_next=0, latency_s=0)
    result = Result("vendor-storm", note=f"{size.storm_s:.0f}s of 429/503/500 + 0.2s latency; "
                                         "converge counted from its end")
    return await measured(stack, client, result, send, addresses, since, size)


async def merge_racing_events(stack: ChaosStack, client: Client, size: Size) -> Result:
    """Salesforce merges A into B while events for A keep arriving: all must end up on B."""
    pairs = list(zip(emails("merged", size.leads // 4), emails("survivor", size.leads // 4), strict=True))
    send = sender(stack)
    await send.send_all([[event(a, "Pricing Page Viewed"), event(b, "Pricing Page Viewed")]
                         for a, b in pairs])
    secret = SECRETS["SALESFORCE_WEBHOOK_SECRET"]

    async def merge(a: str, b: str, i: int) -> None:
        body, headers = signed_callout(secret, [{"Id": f"00Q{i:015d}", "Email": a, "MasterRecordId":
                                                 f"00Q{i + 500:015d}", "MasterRecordEmail": b}])
        async with httpx.AsyncClient(timeout=30) as http:
            await http.post(f"{stack.ingest_url}/v1/webhooks/salesforce", content=body, headers=headers)

    await asyncio.gather(*(merge(a, b, i) for i, (a, b) in enumerate(pairs)),
                         *(send.send_all([[event(a, "Content Downloaded")] for _ in range(3)])
                           for a, _ in pairs))
    leads = LeadClient(client, TASK_QUEUE)

    async def still_running() -> list[str]:
        """Merged-away leads not closed yet: closing (draining, forwarding) or running again. A
        closed one has completed (older runs) or stays open as a tombstone whose closure memo
        names its survivor (playbook-promises-v1)."""
        open_ = []
        for a, _ in pairs:
            desc = await client.get_workflow_handle(lead_workflow_id(a)).describe()
            if desc.status is not None and desc.status.name == "RUNNING" and \
                    await closure_in(desc) is None:
                open_.append(a)
        return open_

    async def lost_on_survivors() -> int:
        lost = 0
        for a, b in pairs:
            survivor = await check.state_of(leads, b)
            lost += sum(1 for i in send.acked[a] + send.acked[b]
                        if survivor is None or not survivor.has_seen(i))
        return lost

    # A merged-away lead closes once it has forwarded what reached it; wait for that (bounded),
    # then for the survivors to apply what was forwarded, before counting anything as lost.
    deadline = time.monotonic() + size.converge_s
    while await still_running() and time.monotonic() < deadline:
        await asyncio.sleep(1)
    while (lost := await lost_on_survivors()) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    running_again = len(await still_running())
    await send.close()
    return Result("merge-racing-events", acknowledged=send.acknowledged, lost=lost,
                  server_errors=send.server_errors,
                  note=f"{len(pairs)} merges; {running_again} merged-away leads running again")


async def redelivery_flood(stack: ChaosStack, client: Client, size: Size) -> Result:
    """A sender redelivers old events (HubSpot and Segment retry for hours) after a burst."""
    (email,), send = emails("flood", 1), sender(stack)
    burst = [event(email, "Pricing Page Viewed") for _ in range(size.flood)]
    for i in range(0, len(burst), 100):
        await send.send(burst[i:i + 100])
    await send.send(burst[:100])  # the oldest hundred again
    leads = LeadClient(client, TASK_QUEUE)
    await check.settled(leads, {email: [e["event_id"] for e in burst[-100:]]}, size.converge_s)
    await asyncio.sleep(5)
    state = await check.state_of(leads, email)
    applied = state.events_applied if state else 0
    await send.close()
    return Result("redelivery-flood", acknowledged=send.acknowledged,
                  duplicated=max(0, applied - size.flood), lost=max(0, size.flood - applied),
                  server_errors=send.server_errors,
                  note=f"{size.flood} events, then the first 100 again")


async def bad_input_fuzz(stack: ChaosStack, client: Client, size: Size) -> Result:
    statuses = await fuzz.run(stack, size.fuzz)
    five = sum(n for s, n in statuses.items() if s >= 500)
    spread = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    return Result("bad-input-fuzz", acknowledged=statuses.get(202, 0), server_errors=five,
                  note=f"{size.fuzz} requests; {spread}")


ALL: dict[str, Scenario] = {
    "worker-sigkill-sync": worker_kill_mid_sync,
    "worker-sigkill-backfill": worker_kill_mid_backfill,
    "temporal-restart": temporal_restart,
    "vendor-storm": vendor_storm,
    "merge-racing-events": merge_racing_events,
    "redelivery-flood": redelivery_flood,
    "bad-input-fuzz": bad_input_fuzz,
}
# The short run keeps to about five minutes: the merge race (about 2 minutes on its own), the
# redelivery flood, the backfill kill and the vendor storm run in the full one.
SHORT_RUN = ["bad-input-fuzz", "worker-sigkill-sync", "temporal-restart"]
