"""A lead started through ingest carries its worker's published config and skips lead_config
(issue 16); a starter that cannot vouch for the worker's playbook leaves the lead to ask."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client, WorkflowFailureError

from config.playbook_loader import playbook_catalog
from lifecycle.events import lead_workflow_id
from tests.support.ingest_client import product_event
from tests.support.lead_harness import Harness, fact, running_worker, unique_email, until
from tests.support.vendor_stack import VENDORS
from workflows.lead_client import LeadClient
from workflows.lead_models import LEAD_CONFIG, LeadInput, QueueConfig
from workflows.queue_config import CONFIG_MEMO, queue_config_workflow_id
from workflows.queue_config_client import publish, published


async def activities_of(client: Client, email: str) -> list[str]:
    history = await client.get_workflow_handle(lead_workflow_id(email)).fetch_history()
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")]


async def start_input(client: Client, email: str) -> LeadInput:
    history = await client.get_workflow_handle(lead_workflow_id(email)).fetch_history()
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    [inp] = await client.data_converter.decode([payload], [LeadInput])
    assert isinstance(inp, LeadInput)
    return inp


async def test_an_ingest_lead_reaches_all_three_vendors_without_asking_lead_config(
        api, dev_env, stack, workers: Harness):
    email = unique_email("config")
    assert (await api.events(product_event(email, "Demo Requested"))).status_code == 202

    await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "MQL", what="HubSpot MQL")
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL", what="Salesforce MQL")
    await until(lambda: stack.segment_traits(email).get("lead_stage") == "MQL", what="Segment MQL")
    inp = await start_input(dev_env.client, email)
    assert inp.config is not None and sorted(inp.config.vendors) == sorted(VENDORS)
    assert inp.config.playbook.name == "demo_led"
    assert LEAD_CONFIG not in await activities_of(dev_env.client, email)


async def test_the_workers_publish_what_lead_config_answers(dev_env, workers: Harness):
    config = await published(dev_env.client, workers.task_queue)
    assert config is not None and sorted(config.vendors) == sorted(VENDORS)
    assert set(config.playbooks) >= {"demo_led", "trial_led", "high_touch"}
    assert not config.ledger and not config.accounts


async def test_a_worker_serving_another_version_leaves_the_lead_to_ask(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors()) as h:
        ours = await published(dev_env.client, h.task_queue)
        assert ours is not None
        # A worker that booted last with an edited demo_led (another content hash).
        edited = ours.model_copy(update={"playbooks": {**ours.playbooks, "demo_led": "0" * 12}})
        await publish(dev_env.client, h.task_queue, edited)
        await until(lambda: _is(dev_env.client, h.task_queue, edited), what="the memo updated")

        email = unique_email("asks")
        leads = LeadClient(dev_env.client, h.task_queue)
        await leads.send_event(email, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
        await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "MQL", what="HubSpot MQL")
        assert (await start_input(dev_env.client, email)).config is None
        assert LEAD_CONFIG in await activities_of(dev_env.client, email)

        # Once the worker's own config is back, a new lead (a new LeadClient reads it) carries it.
        await publish(dev_env.client, h.task_queue, ours)
        await until(lambda: _is(dev_env.client, h.task_queue, ours), what="the memo updated")
        carried = unique_email("carries")
        await LeadClient(dev_env.client, h.task_queue).send_event(carried, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(carried)))
        await until(lambda: stack.hubspot_contact(carried).get("lead_stage") == "MQL", what="HubSpot MQL")
        assert (await start_input(dev_env.client, carried)).config == ours.lead_config(
            playbook_catalog(), "demo_led")
        assert LEAD_CONFIG not in await activities_of(dev_env.client, carried)

        config_run = dev_env.client.get_workflow_handle(queue_config_workflow_id(h.task_queue))
        h.handles.append(config_run)  # its history replays (LEADFLOW_RECORD_HISTORIES)
        memo = await (await config_run.describe()).memo_value(CONFIG_MEMO)
        assert QueueConfig.model_validate(memo) == ours


async def _is(client: Client, queue: str, config: QueueConfig) -> bool:
    return await published(client, queue) == config


async def test_an_operators_start_with_a_bad_config_fails_that_run_not_its_tasks(dev_env, workers: Harness):
    handle = await dev_env.client.start_workflow(
        "QueueConfigWorkflow", {"vendors": "hubspot", "playbooks": 7}, id=f"bad-{unique_email()}",
        task_queue=workers.task_queue)
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=30)
