"""Field sync on the user's path: a rep's Salesforce edit of NumberOfEmployees re-scores the lead
(fit points in `leadflow show` and a field fact in the ledger) and reaches HubSpot, a rep's edit
of a leadflow_wins field is written over, and the echoes of leadflow's own writes change nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from emulators.salesforce.callouts import lead_change
from ledger.engine import make_engine
from ledger.facts import FIELD
from ledger.store import lead_facts
from lifecycle.events import lead_workflow_id
from tests.support.ingest_client import (
    ingest_api,
    ingest_settings,
    lead_state,
    product_event,
    temporal_address,
)
from tests.support.lead_harness import settled, unique_email, until
from tests.support.ledger_harness import ledger_worker
from tests.support.vendor_stack import VENDORS
from workflows.lead_client import LeadClient

LEADFLOW = str(Path(sys.prefix) / "bin" / "leadflow")


async def test_rep_edit_of_employees_re_scores_without_echo(dev_env, stack, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    async with ledger_worker(dev_env.client, engine, vendors=VENDORS,
                             connectors=stack.connectors()) as workers:
        settings = ingest_settings(temporal_address(dev_env), workers.task_queue, "demo_led", stack)
        async with ingest_api(settings) as api:
            leads = LeadClient(dev_env.client, workers.task_queue, "demo_led")
            email = unique_email("fields")
            form = product_event(email, "Form Submitted", company_size="40", use_case="forecasting")
            assert (await api.events(form)).status_code == 202
            # Ends with the block (and is recorded for the replay test with LEADFLOW_RECORD_HISTORIES).
            workers.handles.append(dev_env.client.get_workflow_handle(lead_workflow_id(email)))
            before = await lead_state(leads, email, lambda s: s.fields.get("use_case") == "forecasting")
            await until(lambda: stack.salesforce_lead(email).get("NumberOfEmployees") == 40
                        and stack.salesforce_lead(email).get("Use_Case__c") == "forecasting")

            # A rep overwrites the use case (leadflow_wins): leadflow writes its own back.
            record = stack.salesforce_lead(email)
            stack.salesforce.rep_set_status(record["Id"], record["Status"], Use_Case__c="billing")
            edit = await api.salesforce([lead_change(stack.salesforce_lead(email), "sam@acme.io")])
            assert edit.status_code == 202, edit.text
            await until(lambda: stack.salesforce_lead(email).get("Use_Case__c") == "forecasting",
                        what="leadflow's use case written back over the rep's edit")
            assert (await leads.state(email)).fields["use_case"] == "forecasting"

            # A rep corrects the size (crm_wins): adopted, re-scored.
            record = stack.salesforce_lead(email)
            stack.salesforce.rep_set_status(record["Id"], record["Status"], NumberOfEmployees=500)
            edit = await api.salesforce([lead_change(stack.salesforce_lead(email), "sam@acme.io")])
            assert edit.status_code == 202, edit.text
            after = await lead_state(leads, email, lambda s: s.fields.get("company_size") == "500")
            assert after.score == before.score + 15  # demo_led: company_size >= 50 is 15 fit points
            assert after.field_stamps["company_size"].source == "salesforce"
            await until(lambda: stack.hubspot_contact(email).get("lead_company_size") == "500",
                        what="the adopted size in HubSpot")

            # Every write leadflow made fires the trigger again: echoes change nothing.
            writes = await settled(lambda: stack.salesforce.calls["collections.upsert"])
            for _ in range(3):
                echo = lead_change(stack.salesforce_lead(email), "integration@leadflow")
                assert (await api.salesforce([echo])).status_code == 202
            await asyncio.sleep(1.5)
            assert stack.salesforce.calls["collections.upsert"] == writes
            quiet = await leads.state(email)
            assert (quiet.score, quiet.events_applied) == (after.score, after.events_applied)

            env = {**os.environ, "LEADFLOW_TEMPORAL_ADDRESS": temporal_address(dev_env),
                   "LEADFLOW_TASK_QUEUE": workers.task_queue, "LEADFLOW_PLAYBOOK": "demo_led"}
            shown = await asyncio.create_subprocess_exec(LEADFLOW, "show", email, env=env,
                                                         stdout=asyncio.subprocess.PIPE)
            out, _ = await shown.communicate()
            assert {"points": 15, "reason": "company_size = 500"} in json.loads(out)["fit_points"]

            def field_facts() -> list:  # type: ignore[type-arg]
                return [f for f in lead_facts(engine, lead_workflow_id(email)) if f.kind == FIELD]

            await until(lambda: len(field_facts()) == 1, what="the field fact in the ledger")
            [fact] = field_facts()
            assert (fact.vendor, fact.actor) == ("salesforce", "sam@acme.io")
            assert fact.score_after == fact.score_before + 15
            assert "company_size 40 -> 500 from salesforce" in (fact.detail or "")
            assert "fit +15 (company_size = 500)" in (fact.detail or "")
