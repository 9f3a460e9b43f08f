"""Accounts end to end on the dev server: leads of one company drive their AccountWorkflow, whose
stage lands in the HubSpot company and the Salesforce Account through the real client libraries;
a personal address makes no account; a CRM's own contact -> company association wins."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from hubspot import HubSpot
from temporalio.service import RPCError
from typer.testing import CliRunner

from leadflow.cli import app
from tests.support.lead_harness import fact, running_worker, until
from tests.support.vendor_stack import VENDORS, vendor_stack
from workflows.account_client import AccountClient
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        yield running


async def to_sql(leads: LeadClient, email: str) -> None:
    await leads.send_event(email, fact("demo_requested", company="Acme"))
    await leads.command(email, LeadCommand(kind="confirm_sql",
                                           properties={"use_case": "forecasting", "timeline": "Q3"}))


async def first_run(client, workflow_id: str):  # type: ignore[no-untyped-def]
    """The lead's first run (the tests' low continue-as-new threshold may have moved it on)."""
    desc = await client.get_workflow_handle(workflow_id).describe()
    return client.get_workflow_handle(workflow_id,
                                      run_id=desc.raw_description.workflow_execution_info.first_run_id)


def salesforce_account(stack, domain: str) -> dict:  # type: ignore[no-untyped-def]
    found = stack.salesforce.find("Account", "Leadflow_Account_Key__c", domain)
    return found[0] if found else {}


async def test_two_leads_at_acme_drive_the_account_to_active_evaluation(dev_env, stack):
    async with running_worker(dev_env.client, VENDORS, stack.connectors(), accounts=True) as h:
        leads, accounts = LeadClient(dev_env.client, h.task_queue), AccountClient(dev_env.client,
                                                                                   h.task_queue)
        tag = uuid.uuid4().hex[:6]
        ada, bob, carol = f"ada-{tag}@acme.io", f"bob-{tag}@acme.io", f"carol-{tag}@gmail.com"
        await to_sql(leads, ada)
        view = await until(lambda: accounts.view("acme.io"), what="the account exists")
        assert view.stage in ("Prospect", "Engaged") and not view.active_evaluation
        await to_sql(leads, bob)
        await leads.send_event(carol, fact("demo_requested"))
        # Recorded for tests/replay in this order: ada's first run (its reports to the account),
        # carol (free mail: no report), the account; then what only needs terminating.
        h.handles.append(await first_run(dev_env.client, f"lead:{ada}"))
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{carol}"))
        h.handles.append(dev_env.client.get_workflow_handle(accounts.workflow_id("acme.io")))
        for email in (ada, bob):
            h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))

        async def active() -> object:
            v = await accounts.view("acme.io")
            return v if v and v.stage == "Active Evaluation" else None

        view = await until(active, what="two SQLs make an active evaluation")
        assert view.active_evaluation and not view.demo_completed
        assert view.leads_by_stage == {"SQL": 2} and set(view.leads) == {ada, bob}
        assert view.furthest_stage == "SQL" and view.first_touch_at <= view.last_touch_at
        assert view.history[-1]["cause"] == "two leads in sales conversations"

        # The HubSpot company and the Salesforce Account, created by domain, show it.
        await until(lambda: (stack.hubspot.company("acme.io") or None) and stack.hubspot.company(
            "acme.io").properties.get("leadflow_account_stage") == "Active Evaluation",
            what="the HubSpot company shows the stage")
        company = stack.hubspot.company("acme.io").properties
        assert company["leadflow_active_evaluation"] == "true" and company["name"] == "acme.io"
        assert company["leadflow_leads"] == "2"
        await until(lambda: salesforce_account(stack, "acme.io").get("Account_Stage__c")
                    == "Active Evaluation", what="the Salesforce Account shows the stage")
        account = salesforce_account(stack, "acme.io")
        assert account["Active_Evaluation__c"] is True and account["Name"] == "acme.io"
        acme = [c for c in stack.hubspot.records("companies") if c.properties.get("domain") == "acme.io"]
        assert len(acme) == 1  # one company, written again, never made twice
        view = await until(lambda: accounts.view("acme.io"))
        assert view.record_ids.keys() == {"hubspot", "salesforce"} and view.sync_errors == {}

        # Listed by its search attribute, as in the Temporal UI.
        listed = await until(lambda: accounts.domains_in_stage("Active Evaluation"))
        assert listed == [accounts.workflow_id("acme.io")]

        # A personal address belongs to no account: its lead syncs, no account is started.
        await until(lambda: stack.hubspot_contact(carol).get("lead_stage") == "MQL")
        assert await accounts.view("gmail.com") is None
        assert "account" not in (await leads.state(carol)).sync_errors

        # The operator's view: `leadflow account show acme.io` (in a thread: it runs its own loop).
        env = {"LEADFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
               "LEADFLOW_TASK_QUEUE": h.task_queue, "LEADFLOW_PLAYBOOK": "demo_led"}
        shown = await asyncio.to_thread(CliRunner().invoke, app, ["account", "show", "Acme.IO"],
                                        env=env)
        assert shown.exit_code == 0, shown.output
        view = json.loads(shown.stdout)
        assert view["domain"] == "acme.io" and view["stage"] == "Active Evaluation"
        assert view["leads_by_stage"] == {"SQL": 2}
        missing = await asyncio.to_thread(CliRunner().invoke, app, ["account", "show", "gmail.com"],
                                          env=env)
        assert missing.exit_code == 1 and "no account gmail.com" in missing.stderr


async def test_a_hubspot_contact_company_association_names_the_account(dev_env, stack):
    """A rep associated the contact with a company in HubSpot: that company is the account,
    whatever the email's domain."""
    running = stack.running["hubspot"]
    hub = HubSpot(access_token=running.token, host=running.url)
    email = f"dan-{uuid.uuid4().hex[:6]}@initech-labs.io"
    from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyIn
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactIn

    contact = hub.crm.contacts.basic_api.create(ContactIn(properties={"email": email}))
    company = hub.crm.companies.basic_api.create(CompanyIn(properties={"name": "Initech",
                                                                      "domain": "initech.com"}))
    hub.crm.associations.v4.basic_api.create_default("contacts", contact.id, "companies", company.id)
    async with running_worker(dev_env.client, VENDORS, stack.connectors(), accounts=True) as h:
        leads, accounts = LeadClient(dev_env.client, h.task_queue), AccountClient(dev_env.client,
                                                                                   h.task_queue)
        await leads.send_event(email, fact("demo_requested"))
        view = await until(lambda: accounts.view("initech.com"), what="the associated account")
        h.handles.append(await first_run(dev_env.client, f"lead:{email}"))
        h.handles.append(dev_env.client.get_workflow_handle(accounts.workflow_id("initech.com")))
        assert list(view.leads) == [email]
        assert await accounts.view("initech-labs.io") is None
        # The existing company is the account's: found by domain, written, not made again.
        await until(lambda: stack.hubspot.company("initech.com").properties.get(
            "leadflow_account_stage") == "Engaged")
        assert stack.hubspot.company("initech.com").id == str(company.id)
        with pytest.raises(RPCError):
            await dev_env.client.get_workflow_handle(accounts.workflow_id("initech-labs.io")).describe()


async def test_an_account_continues_as_new_and_keeps_every_report(dev_env):
    """Reports keep arriving while the account continues as new (the tests' dev server suggests it
    after 120 events): none is lost, the aggregate goes on. No vendors: only the workflow."""
    from datetime import UTC, datetime

    from lifecycle.account import LeadReport
    from workflows.account import AccountWorkflow
    from workflows.account_models import LEAD_CHANGED_SIGNAL, AccountInput

    async with running_worker(dev_env.client, accounts=True) as h:
        accounts = AccountClient(dev_env.client, h.task_queue)
        wid = accounts.workflow_id("umbrella.com")
        for i in range(70):
            report = LeadReport(lead_id=f"lead:l{i}@umbrella.com", email=f"l{i}@umbrella.com",
                                stage="SQL" if i % 2 else "MQL", seq=1, at=datetime.now(UTC))
            await dev_env.client.start_workflow(
                AccountWorkflow.run, AccountInput(domain="umbrella.com", playbook_name="demo_led"),
                id=wid, task_queue=h.task_queue, start_signal=LEAD_CHANGED_SIGNAL,
                start_signal_args=[report])
        h.handles.append(dev_env.client.get_workflow_handle(wid))

        async def all_in() -> object:
            v = await accounts.view("umbrella.com")
            return v if v and len(v.leads) == 70 else None

        view = await until(all_in, what="every report folded in")
        assert view.leads_by_stage == {"MQL": 35, "SQL": 35} and view.stage == "Active Evaluation"
        desc = await dev_env.client.get_workflow_handle(wid).describe()
        assert desc.run_id != desc.raw_description.workflow_execution_info.first_run_id


async def test_an_account_in_opportunity_routes_a_new_lead_to_its_owner(dev_env):
    """demo_led: "an account in Opportunity routes new leads to the account owner". The account's
    owner of record is Sam; the rotation of sdr-americas would give a new MQL to Ana (weight 2)."""
    from datetime import UTC, datetime

    from lifecycle.account import LeadReport
    from workflows.account import AccountWorkflow
    from workflows.account_models import LEAD_CHANGED_SIGNAL, AccountInput

    async with running_worker(dev_env.client, accounts=True) as h:
        leads, accounts = LeadClient(dev_env.client, h.task_queue), AccountClient(dev_env.client,
                                                                                   h.task_queue)
        wid = accounts.workflow_id("hooli.io")
        report = LeadReport(lead_id="lead:gavin@hooli.io", email="gavin@hooli.io",
                            stage="Opportunity Created", seq=1, at=datetime.now(UTC),
                            owner="sam.sdr@example.com")
        await dev_env.client.start_workflow(
            AccountWorkflow.run, AccountInput(domain="hooli.io", playbook_name="demo_led"), id=wid,
            task_queue=h.task_queue, start_signal=LEAD_CHANGED_SIGNAL, start_signal_args=[report])
        h.handles.append(dev_env.client.get_workflow_handle(wid))
        view = await until(lambda: accounts.view("hooli.io"))
        assert view.stage == "Opportunity" and view.route_to_owner and view.owner == "sam.sdr@example.com"

        email = f"new-{uuid.uuid4().hex[:6]}@hooli.io"
        await leads.send_event(email, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{email}"))
        state = await until(lambda: _owned(leads, email), what="the new MQL is routed")
        assert state.owner == "sam.sdr@example.com" and state.team == "sdr-americas"
        other = f"new-{uuid.uuid4().hex[:6]}@pied-piper.io"  # no account rule: the rotation
        await leads.send_event(other, fact("demo_requested"))
        h.handles.append(dev_env.client.get_workflow_handle(f"lead:{other}"))
        assert (await until(lambda: _owned(leads, other))).owner == "ana.sdr@example.com"


async def _owned(leads: LeadClient, email: str):  # type: ignore[no-untyped-def]
    state = await leads.state(email)
    return state if state is not None and state.owner else None
