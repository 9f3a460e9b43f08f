"""Salesforce callouts: a rep's stage change is adopted with no write-back loop; bad
signatures, unknown stages and merges without a survivor are refused with a problem."""

from __future__ import annotations

import asyncio

from emulators.salesforce.callouts import lead_change
from tests.support.ingest_client import (
    lead_state,
    product_event,
)
from tests.support.lead_harness import settled, unique_email, until
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand


async def test_rep_status_change_is_adopted_without_a_write_back_loop(api, stack, dev_env, workers):
    leads = LeadClient(dev_env.client, workers.task_queue, "demo_led")
    email = unique_email("sf-rep")
    assert (await api.events(product_event(email, "Demo Requested"))).status_code == 202
    await lead_state(leads, email, lambda s: s.stage == "MQL")
    await leads.command(email, LeadCommand(kind="confirm_sql",
                                           properties={"use_case": "forecasting", "timeline": "Q3"}))
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "SQL")

    lead_id = stack.salesforce_lead(email)["Id"]
    stack.salesforce.rep_set_status(lead_id, "Working", Lead_Stage__c="Demo Scheduled")
    response = await api.salesforce([lead_change(stack.salesforce_lead(email), "sam@acme.io")])
    # two facts: the stage, and the callout's field set (unchanged here, so no news to the lead)
    assert response.status_code == 202 and response.json()["accepted"] == 2
    await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "Demo Scheduled")
    state = await leads.state(email)
    assert state.stage == "Demo Scheduled"
    assert (state.history[-1].cause, state.history[-1].actor) == ("crm_stage_changed", "sam@acme.io")

    writes = await settled(lambda: stack.salesforce.calls["collections.upsert"])
    for _ in range(3):  # the trigger fires again for each write leadflow makes: echoes
        echo = lead_change(stack.salesforce_lead(email), "integration@leadflow")
        assert (await api.salesforce([echo])).status_code == 202
    await asyncio.sleep(1.5)
    assert stack.salesforce.calls["collections.upsert"] == writes
    assert len((await leads.state(email)).history) == len(state.history)


async def test_refusals_name_what_is_wrong(api, stack):
    email = unique_email("sf-bad")
    change = {"Id": "00Q000000000001AAA", "Email": email, "Status": "Working",
              "Lead_Stage__c": "Somewhere", "SystemModstamp": "2026-11-23T08:00:00Z"}
    wrong_secret = await api.salesforce([change], secret="not-the-secret")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["type"].endswith("bad-signature")

    unknown = await api.salesforce([change])
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"pointer": "#/leads/0/Lead_Stage__c",
                                         "detail": "unknown stage 'Somewhere' in playbook demo_led"}]
    orphan = {**change, "Lead_Stage__c": "SQL", "MasterRecordId": "00Q000000000002AAA"}
    no_survivor = await api.salesforce([orphan])
    assert no_survivor.status_code == 422
    assert "MasterRecordEmail is required" in no_survivor.json()["detail"]
    bad_email = await api.salesforce([{**change, "Lead_Stage__c": "SQL", "Email": "nobody"}])
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["pointer"] == "#/leads/0/Email"
    assert "not an email address" in bad_email.json()["errors"][0]["detail"]
