"""Activities that reach other lead workflows through the Temporal client (merges)."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from lifecycle.events import lead_workflow_id
from workflows.lead_client import LeadClient
from workflows.lead_models import (
    ABSORB_SIGNAL,
    EVENT_SIGNAL,
    FORWARD_EVENTS,
    FORWARD_MERGE,
    AbsorbRequest,
    ForwardEvents,
    ForwardMerge,
)


class MergeActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name=FORWARD_MERGE)
    async def forward_merge(self, inp: ForwardMerge) -> str:
        """Hands a merged-away lead's timeline to the survivor, starting it if it is new, or
        to the survivor's own survivor when it was merged away too."""
        absorb = AbsorbRequest(merged_id=inp.merged_id, merged_state=inp.merged_state)
        handle = await self._leads(inp.playbook_name).signal_with_start(
            inp.survivor_email, ABSORB_SIGNAL, absorb)
        return handle.id

    @activity.defn(name=FORWARD_EVENTS)
    async def forward_events(self, inp: ForwardEvents) -> str:
        """Signals that reached a merged-away lead while it closed go on to the survivor, in
        order; a retry resends them, which the survivor's deduplication absorbs."""
        leads, survivor_id = self._leads(inp.playbook_name), lead_workflow_id(inp.survivor_email)
        for item in inp.items:
            signal = ABSORB_SIGNAL if isinstance(item, AbsorbRequest) else EVENT_SIGNAL
            survivor_id = (await leads.signal_with_start(inp.survivor_email, signal, item)).id
        return survivor_id

    def _leads(self, playbook_name: str) -> LeadClient:
        return LeadClient(self._client, self._task_queue, playbook_name)
