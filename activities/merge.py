"""Activities that reach other lead workflows through the Temporal client (merges)."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from lifecycle.events import lead_workflow_id
from workflows.lead import LeadWorkflow
from workflows.lead_models import ABSORB_SIGNAL, FORWARD_MERGE, AbsorbRequest, ForwardMerge, LeadInput


class MergeActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name=FORWARD_MERGE)
    async def forward_merge(self, inp: ForwardMerge) -> str:
        """Hands a merged-away lead's timeline to the survivor, starting it if it is new."""
        survivor_id = lead_workflow_id(inp.survivor_email)
        await self._client.start_workflow(
            LeadWorkflow.run, LeadInput(email=inp.survivor_email, playbook_name=inp.playbook_name),
            id=survivor_id, task_queue=self._task_queue, start_signal=ABSORB_SIGNAL,
            start_signal_args=[AbsorbRequest(merged_id=inp.merged_id, merged_state=inp.merged_state)],
        )
        return survivor_id
