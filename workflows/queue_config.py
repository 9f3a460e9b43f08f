"""QueueConfigWorkflow: what the workers of a task queue tell new leads, where starters can read it.

perf (issue 16): a lead asks its worker for its config (the lead_config activity: playbook,
vendors, ledger, omitted search attributes, accounts) before it decides anything, a hop of its
own in front of every new lead (an activity and a workflow task). A starter that hands the same
answer over in `LeadInput.config` saves it; runs with bundled-patches-v3 read it from there.

Each worker signal-with-starts this workflow (id `leadflow-config:<task queue>`, one per queue) at
boot with its QueueConfig: what its lead_config would answer, the playbooks named by the content
hash of the version it serves. The workflow keeps the latest in its memo, which a starter reads
with DescribeWorkflowExecution (answered by the server, no worker needed); see
workflows/queue_config_client.py. When several workers serve a queue, the last to boot is
published: a lead_config answer, too, is whichever worker took the activity.
"""

from __future__ import annotations

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.lead_models import QueueConfig

PUBLISH_SIGNAL = "publish"
CONFIG_MEMO = "queue_config"
# A boot costs this history a signal, a workflow task and a memo change: continue as new
# (with the latest config) well before a long-lived queue's history grows large.
MAX_HISTORY_EVENTS = 1000


def queue_config_workflow_id(task_queue: str) -> str:
    return f"leadflow-config:{task_queue}"


# An input that is no QueueConfig (an operator's start from the UI) fails the run, not its tasks.
@workflow.defn(name="QueueConfigWorkflow", failure_exception_types=[pydantic.ValidationError])
class QueueConfigWorkflow:
    @workflow.init
    def __init__(self, latest: QueueConfig | None = None) -> None:
        self._latest = latest
        self._changed = False

    @workflow.signal(name=PUBLISH_SIGNAL)
    def publish(self, config: QueueConfig) -> None:
        self._latest, self._changed = config, True

    @workflow.run
    async def run(self, latest: QueueConfig | None = None) -> None:
        while True:
            await workflow.wait_condition(lambda: self._changed)
            self._changed = False
            workflow.upsert_memo({CONFIG_MEMO: self._latest})
            if workflow.info().get_current_history_length() >= MAX_HISTORY_EVENTS:
                workflow.continue_as_new(self._latest, memo={CONFIG_MEMO: self._latest})
