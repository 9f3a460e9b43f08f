"""The playbook's promises, tried as a revenue team would (issue 13): through the ingest API, the
vendors' webhooks and LeadClient, on the dev server with the emulators.

- a nurtured lead re-enters on its path's triggers after its follow-up date has passed;
- an event named like a command is a touch, never a person's command;
- free-mail leads belong to no account and are routed by round robin within caps;
- a disqualification made in the CRM keeps the CRM's reason, which leadflow never blanks;
- a deleted lead stays closed (a later event is answered `skipped`) until a person reopens it,
  and a merged-away email's events reach the survivor;
- a score crossing waits for the target stage's required fields, as a fact does;
- the Salesforce mappings of industry and address get their values.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from config.playbook import Playbook
from config.playbook_loader import stock_playbook
from emulators.salesforce.callouts import lead_change
from lifecycle.events import EventKind, LeadEvent
from tests.support.ingest_client import (
    lead_state,
    product_event,
)
from tests.support.lead_harness import running_worker, unique_email, until
from tests.support.routing_helpers import with_team
from workflows.lead_client import LeadClient
from workflows.lead_models import LeadCommand

# -- 1. nurture re-entry --------------------------------------------------------------------

async def test_nurtured_lead_re_enters_on_a_pricing_visit_after_its_follow_up_fired(api, leads):
    email = unique_email("nurture")
    until_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    view = await leads.command(email, LeadCommand(kind=EventKind.SNOOZE, actor="rep@acme.io",
                                                  properties={"path": "not_now", "until": until_at}))
    assert view.stage == "Nurture" and view.follow_up_at is not None
    await lead_state(leads, email, lambda s: s.follow_up is None, timeout=30)  # the follow-up fired

    response = await api.events(product_event(email, "Pricing Page Viewed"))
    assert response.status_code == 202
    state = await lead_state(leads, email, lambda s: s.stage != "Nurture", timeout=10)
    assert state.stage == "MQL"  # the not_now path's re-entry stage
    assert state.history[-1].cause == "pricing_visit"


# -- 2. facts and commands --------------------------------------------------------------------

async def test_an_event_named_like_a_command_is_a_touch_not_a_confirmation(api, leads):
    email = unique_email("fact-cmd")
    first = await api.events(product_event(email, "Demo Requested", use_case="forecasting",
                                           timeline="Q3"))
    assert first.status_code == 202
    await lead_state(leads, email, lambda s: s.stage == "MQL")

    forged = product_event(email, "confirm_sql") | {"actor": "ceo@acme.io"}
    response = await api.events(forged)
    assert response.status_code == 202
    state = await lead_state(leads, email, lambda s: s.events_applied >= 2)
    assert state.stage == "MQL"  # only a person's command confirms SQL
    assert state.touches.get("MQL") == 1
    assert "ceo@acme.io" not in [c.actor for c in state.history]

    # The same through LeadClient's event signal: still a fact, never a command.
    await leads.send_event(email, LeadEvent(event_id="forged-2", kind=EventKind.CONFIRM_SQL,
                                            occurred_at=datetime.now(UTC), actor="ceo@acme.io"))
    state = await lead_state(leads, email, lambda s: s.has_seen("forged-2"))
    assert state.stage == "MQL" and state.touches.get("MQL") == 2

    view = await leads.command(email, LeadCommand(kind=EventKind.CONFIRM_SQL, actor="sam@acme.io"))
    assert view.stage == "SQL"
    assert (await leads.state(email)).history[-1].actor == "sam@acme.io"


# -- 3. free-mail domains -----------------------------------------------------------------------

async def test_free_mail_leads_have_no_account_and_are_routed_within_caps(dev_env):
    pb = with_team("demo_led", "sdr-americas", [{"email": "a@example.com", "daily_cap": 3},
                                                 {"email": "b@example.com", "daily_cap": 3}])
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue, pb)
        emails = [unique_email(f"free{i}").replace("@acme.io", "@gmail.com") for i in range(6)]
        for email in emails:
            await leads.send_event(email, LeadEvent(event_id=f"demo-{email}",
                                                    kind=EventKind.DEMO_REQUESTED,
                                                    occurred_at=datetime.now(UTC)))
            await lead_state(leads, email, lambda s: s.owner is not None)
        states = [await leads.state(email) for email in emails]
        assert Counter(s.owner for s in states) == {"a@example.com": 3, "b@example.com": 3}
        assert {s.account_domain for s in states} == {None}
        assert {s.fields.get("email_type") for s in states} == {"personal"}

        work = unique_email("work")  # a company domain is an account
        await leads.send_event(work, LeadEvent(event_id="work", kind=EventKind.FORM_SUBMITTED,
                                               occurred_at=datetime.now(UTC)))
        state = await lead_state(leads, work, lambda s: s.events_applied >= 1)
        assert state.account_domain == "acme.io" and state.fields.get("email_type") == "business"


# -- 4. reasons from the CRM ------------------------------------------------------------------

async def test_a_salesforce_disqualification_keeps_its_reason(api, stack, leads):
    email = unique_email("sf-dq")
    assert (await api.events(product_event(email, "Demo Requested"))).status_code == 202
    await lead_state(leads, email, lambda s: s.stage == "MQL")
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL")

    lead_id = stack.salesforce_lead(email)["Id"]
    stack.salesforce.rep_set_status(lead_id, "Unqualified", Disqualification_Reason__c="budget")
    change = lead_change(stack.salesforce_lead(email), "sam@acme.io")
    assert change["Disqualification_Reason__c"] == "budget"
    response = await api.salesforce([change])
    # two facts: the stage, and the callout's field set (nothing new for the lead there)
    assert response.status_code == 202 and response.json()["accepted"] == 2

    state = await lead_state(leads, email, lambda s: s.stage == "Disqualified")
    assert state.disqualification_reason == "budget"
    assert (state.history[-1].cause, state.history[-1].reason) == ("crm_stage_changed", "budget")
    await until(lambda: stack.hubspot_contact(email).get("lead_stage") == "Disqualified")
    await asyncio.sleep(1)  # leadflow's sync of the adopted stage is done: the reason stays
    assert stack.salesforce_lead(email).get("Disqualification_Reason__c") == "budget"
    assert stack.hubspot_contact(email).get("lead_disqualification_reason") == "budget"


async def test_an_unknown_crm_reason_is_kept_as_other(api, stack, leads):
    email = unique_email("sf-dq-other")
    assert (await api.events(product_event(email, "Demo Requested"))).status_code == 202
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL")
    lead_id = stack.salesforce_lead(email)["Id"]
    stack.salesforce.rep_set_status(lead_id, "Unqualified", Disqualification_Reason__c="Too pricey")
    change = lead_change(stack.salesforce_lead(email), "sam@acme.io")
    change["Disqualification_Reason__c"] = "Too pricey"  # as the documented callout sends it
    assert (await api.salesforce([change])).status_code == 202
    state = await lead_state(leads, email, lambda s: s.stage == "Disqualified")
    assert state.disqualification_reason == "other:Too pricey"


# -- 5. closed leads stay closed --------------------------------------------------------------

async def test_a_deleted_lead_stays_closed_until_a_person_reopens_it(api, stack, leads):
    email = unique_email("sf-gone")
    assert (await api.events(product_event(email, "Demo Requested"))).status_code == 202
    await until(lambda: stack.salesforce_lead(email).get("Lead_Stage__c") == "MQL")
    record = stack.salesforce_lead(email)
    deleted = await api.salesforce([lead_change(record, "sam@acme.io") | {"IsDeleted": True}])
    assert deleted.status_code == 202
    closure = await until(lambda: leads.closure(email), what="the deletion lands")
    assert (closure.how, closure.actor) == ("deleted", "sam@acme.io")

    later = await api.events(product_event(email, "Pricing Page Viewed"))
    assert later.status_code == 202
    body = later.json()
    assert body["accepted"] == 0
    [skipped] = body["skipped"]
    assert skipped["reason"] == f"lead was deleted in Salesforce on {datetime.now(UTC):%Y-%m-%d}"
    await asyncio.sleep(1)
    state = await leads.state(email)
    assert state.stage == "MQL" and state.events_applied == 1  # nothing new reached it

    view = await leads.command(email, LeadCommand(kind=EventKind.REOPEN, actor="sam@acme.io",
                                                  properties={"reason": "deleted by mistake"}))
    assert view.stage == "New Lead"
    state = await leads.state(email)
    assert state.closure is None  # type: ignore[attr-defined]
    last = state.history[-1]
    assert (last.cause, last.actor, last.reason) == ("reopen", "sam@acme.io", "deleted by mistake")
    again = await api.events(product_event(email, "Pricing Page Viewed"))
    assert again.json() == {"accepted": 1, "skipped": []}


async def test_events_for_a_merged_away_email_reach_the_survivor(api, stack, leads):
    merged, survivor = unique_email("sf-dupe"), unique_email("sf-keep")
    for email in (merged, survivor):
        assert (await api.events(product_event(email, "Content Downloaded"))).status_code == 202
        await until(lambda e=email: stack.salesforce_lead(e).get("Id"))
    loser, winner = stack.salesforce_lead(merged), stack.salesforce_lead(survivor)
    merge = lead_change(loser, "sam@acme.io") | {"MasterRecordId": winner["Id"],
                                                 "MasterRecordEmail": survivor}
    assert (await api.salesforce([merge])).status_code == 202
    await lead_state(leads, survivor, lambda s: s.has_seen(f"merge:lead:{merged}"))

    later = await api.events(product_event(merged, "Pricing Page Viewed"))
    assert later.json() == {"accepted": 1, "skipped": []}
    state = await lead_state(leads, survivor, lambda s: any(i.reason.startswith("pricing_visit")
                                                             for i in s.score_items))
    assert state.email == survivor


# -- 6. score crossings respect required fields ----------------------------------------------------

async def test_a_score_crossing_waits_for_the_stages_required_fields(dev_env):
    raw = stock_playbook("demo_led").model_dump(mode="json", by_alias=True)
    for stage in raw["stages"]:
        if stage["name"] == "MQL":
            stage["required_fields"] = ["company_size"]
    pb = Playbook.model_validate(raw)
    async with running_worker(dev_env.client) as h:
        leads = LeadClient(dev_env.client, h.task_queue, pb)
        email = unique_email("fields")
        for i, kind in enumerate((EventKind.DEMO_REQUESTED, EventKind.MEETING_ATTENDED,
                                  EventKind.PRICING_VISIT)):
            await leads.send_event(email, LeadEvent(event_id=f"s{i}", kind=kind,
                                                    occurred_at=datetime.now(UTC)))
        state = await lead_state(leads, email, lambda s: s.events_applied >= 3)
        assert state.score >= 60 and state.stage == "New Lead"  # crossed, but no company size
        await leads.send_event(email, LeadEvent(event_id="size", kind=EventKind.OTHER,
                                                occurred_at=datetime.now(UTC),
                                                properties={"company_size": "120"}))
        state = await lead_state(leads, email, lambda s: s.stage == "MQL")
        assert state.history[-1].cause == "score_threshold"


# -- 7. Salesforce's industry and address mappings ------------------------------------------------

async def test_industry_and_address_reach_salesforce(api, stack):
    email = unique_email("sf-fields")
    event = product_event(email, "Content Downloaded", industry="fintech", country="DE",
                          city="Berlin", state="BE")
    assert (await api.events(event)).status_code == 202
    record = await until(lambda: stack.salesforce_lead(email))
    assert (record.get("Industry"), record.get("Country"), record.get("City"), record.get("State")) \
        == ("fintech", "DE", "Berlin", "BE")
