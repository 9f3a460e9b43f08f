"""Shared pieces of the routing tests: playbooks with a team of our choosing, and lead starts."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from config.playbook import Playbook
from config.playbook_loader import stock_playbook
from lifecycle.events import lead_workflow_id
from tests.support.lead_harness import Harness
from workflows.lead import LeadWorkflow
from workflows.lead_models import LeadInput


def with_team(playbook: str, team: str, members: list[dict[str, Any]], **team_fields: Any) -> Playbook:
    """A stock playbook whose team `team` has exactly these members."""
    raw = stock_playbook(playbook).model_dump(mode="json", by_alias=True)
    for entry in raw["routing"]["teams"]:
        if entry["name"] == team:
            entry["members"] = members
            entry.update(team_fields)
    return Playbook.model_validate(raw)


async def start_pinned(h: Harness, email: str, pb: Playbook, **fields: str) -> WorkflowHandle:
    inp = LeadInput(email=email, playbook_name=pb.name, fields=fields, playbook=pb)
    handle = await h.client.start_workflow(LeadWorkflow.run, inp, id=lead_workflow_id(email),
                                           task_queue=h.task_queue)
    h.handles.append(handle)
    return handle
