"""Activities that reach other lead workflows through the Temporal client (merges)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from lifecycle.events import lead_workflow_id
from lifecycle.state import LeadState
from workflows.lead_models import AbsorbRequest, ForwardEvents, LeadInput


class ForwardMerge(BaseModel):
    survivor_email: str
    playbook_name: str
    merged_id: str
    merged_state: LeadState


class LeadOpsActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name="forward_merge")
    async def forward_merge(self, inp: ForwardMerge) -> str:
        """Hands a merged-away lead's timeline to the survivor, starting it if it is new."""
        survivor_id = lead_workflow_id(inp.survivor_email)
        await self._client.start_workflow(
            "LeadWorkflow", LeadInput(email=inp.survivor_email, playbook_name=inp.playbook_name),
            id=survivor_id, task_queue=self._task_queue, start_signal="absorb",
            start_signal_args=[AbsorbRequest(merged_id=inp.merged_id, merged_state=inp.merged_state)],
        )
        return survivor_id

    @activity.defn(name="forward_events")
    async def forward_events(self, inp: ForwardEvents) -> str:
        """Signals that reached a merged-away lead while it closed go on to the survivor, in
        order; a retry resends them, which the survivor's deduplication absorbs."""
        survivor_id = lead_workflow_id(inp.survivor_email)
        for item in inp.items:
            await self._client.start_workflow(
                "LeadWorkflow", LeadInput(email=inp.survivor_email, playbook_name=inp.playbook_name),
                id=survivor_id, task_queue=self._task_queue,
                start_signal="absorb" if isinstance(item, AbsorbRequest) else "event",
                start_signal_args=[item])
        return survivor_id
