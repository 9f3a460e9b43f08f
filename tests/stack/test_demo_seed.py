"""`leadflow up --demo`: every demo lead lands in the stage it is meant to show, and reseeding is a no-op."""

from __future__ import annotations

from leadflow.demo import DEMO_LEADS, seed
from lifecycle.events import lead_workflow_id
from tests.support.lead_harness import running_worker
from workflows.lead_client import LeadClient


async def test_demo_leads_cover_every_playbook_in_many_stages_with_slas_running(dev_env):
    async with running_worker(dev_env.client) as harness:
        assert await seed(dev_env.client, harness.task_queue) == (len(DEMO_LEADS), 0)
        harness.handles += [dev_env.client.get_workflow_handle(lead_workflow_id(d.email)) for d in DEMO_LEADS]
        stages = {}
        for lead in DEMO_LEADS:
            state = await LeadClient(dev_env.client, harness.task_queue).state(lead.email)
            stages[lead.email] = state.stage
            assert (state.playbook, state.stage) == (lead.playbook, lead.expect), lead.email
        assert {d.playbook for d in DEMO_LEADS} == {"demo_led", "trial_led", "high_touch"}
        assert len(set(stages.values())) >= 12
        with_sla = [d.email for d in DEMO_LEADS
                    if (await LeadClient(dev_env.client, harness.task_queue).state(d.email)).sla]
        assert "grace@globex.com" in with_sla and "edsger@tyrell.io" in with_sla and len(with_sla) >= 5

        assert await seed(dev_env.client, harness.task_queue) == (0, len(DEMO_LEADS))
