"""Translating each sender's payload into lead actions: pure, no server, no Temporal."""

from __future__ import annotations

import pytest

from config.playbook_loader import stock_playbook
from emulators.hubspot.webhooks import deletion_event, merge_event, property_change_events
from ingest.actions import Delete, Merge, Signal
from ingest.problems import Problem
from ingest.sources import hubspot, salesforce, segment

DEMO = stock_playbook("demo_led")
LEAD = {"Id": "00Q000000000001AAA", "Email": "Ada@Acme.io", "ChangedBy": "sam@acme.io",
        "SystemModstamp": "2026-11-23T08:00:00Z"}


def sf(**fields: object) -> list:  # type: ignore[type-arg]
    return salesforce.plan(DEMO, {"leads": [{**LEAD, **fields}]}).actions


def stage_of(actions: list) -> str:  # type: ignore[type-arg]
    (action,) = actions
    assert isinstance(action, Signal) and action.email == "ada@acme.io"
    return action.event.properties["stage"]


def test_salesforce_stage_comes_from_lead_stage_unless_the_rep_changed_status_alone():
    assert stage_of(sf(Status="Working", Lead_Stage__c="Demo Scheduled")) == "Demo Scheduled"
    # Status moved, Lead_Stage__c still what leadflow wrote: the Status decides.
    assert stage_of(sf(Status="Unqualified", Lead_Stage__c="SQL")) == "Disqualified"
    converted = sf(Status="Closed - Converted", Lead_Stage__c="Opportunity Created",
                   IsConverted=True, ConvertedContactId="003000000000001AAA")
    assert stage_of(converted) == "Closed Won"
    assert converted[0].event.properties["salesforce_contact_id"] == "003000000000001AAA"
    ambiguous = salesforce.plan(DEMO, {"leads": [{**LEAD, "Status": "Working",
                                                  "Lead_Stage__c": "MQL"}]})
    assert not ambiguous.actions and "several stages" in ambiguous.skipped[0].reason


def test_salesforce_merges_deletions_and_stable_ids():
    (merge,) = sf(IsDeleted=True, MasterRecordId="00Q000000000002AAA",
                  MasterRecordEmail="keep@acme.io")
    assert merge == Merge("ada@acme.io", "keep@acme.io", "sam@acme.io")
    assert sf(IsDeleted=True) == [Delete("ada@acme.io", "deleted in Salesforce", "sam@acme.io")]
    once, again = sf(Status="Working", Lead_Stage__c="SQL"), sf(Status="Working", Lead_Stage__c="SQL")
    assert once[0].event.event_id == again[0].event.event_id
    later = sf(Status="Working", Lead_Stage__c="SQL", SystemModstamp="2026-11-23T09:00:00Z")
    assert later[0].event.event_id != once[0].event.event_id


def test_hubspot_lifecyclestage_maps_back_only_when_unambiguous():
    changes = [{"objectId": 1, "propertyName": "lifecyclestage", "propertyValue": value}
               for value in ("marketingqualifiedlead", "customer", "salesqualifiedlead")]
    events = hubspot.parse(property_change_events(changes, portal_id=7))
    plan = hubspot.plan(DEMO, events, lambda oid, archived: "ada@acme.io")
    assert [a.event.properties["stage"] for a in plan.actions] == ["MQL", "Closed Won"]
    assert plan.actions[0].event.actor == "hubspot:userId:9101"
    assert "several stages" in plan.skipped[0].reason


def test_hubspot_ids_are_stable_per_change_even_when_event_ids_repeat():
    first = property_change_events([{"objectId": 1, "propertyName": "lead_stage",
                                     "propertyValue": "MQL"}], portal_id=7)[0]
    same_id_other_value = {**first, "propertyValue": "SQL"}
    a, b, c = hubspot.parse([first, dict(first), same_id_other_value])
    assert hubspot.event_id(a) == hubspot.event_id(b) != hubspot.event_id(c)


def test_hubspot_merge_deletion_and_creation():
    emails = {(10, False): "keep@acme.io", (11, True): "dupe@acme.io", (12, True): "gone@acme.io",
              (13, False): "new@acme.io"}
    creation = [{**deletion_event(13, portal_id=7), "subscriptionType": "contact.creation",
                 "changeSource": source} for source in ("CRM_UI", "INTEGRATION")]
    events = hubspot.parse([merge_event(10, [11], portal_id=7), deletion_event(12, portal_id=7),
                            *creation])
    plan = hubspot.plan(DEMO, events, lambda oid, archived: emails.get((oid, archived)))
    merge, delete, created = plan.actions
    assert merge == Merge("dupe@acme.io", "keep@acme.io", "hubspot:userId:9101")
    assert delete == Delete("gone@acme.io", "deleted in HubSpot", "hubspot:userId:9101")
    assert isinstance(created, Signal) and created.event.name == "HubSpot Contact Created"
    assert "leadflow's own sync" in plan.skipped[0].reason
    assert hubspot.lookups(events) == set(emails)


def test_segment_finds_the_email_and_refuses_a_bad_one():
    base = {"type": "track", "event": "Workspace Activated", "messageId": "m-1",
            "userId": "user-42", "context": {"traits": {"email": "Ada@Acme.io"}}}
    (signal,) = segment.plan(DEMO, [base]).actions
    assert signal.email == "ada@acme.io" and signal.event.event_id == "segment:m-1"
    assert signal.event.kind == "activated"
    with pytest.raises(Problem) as refused:
        segment.plan(DEMO, [{**base, "properties": {"email": "not-an-email"}}])
    assert refused.value.status == 422
    assert refused.value.errors[0]["pointer"] == "#/properties/email"


def test_crm_field_changes_become_one_fields_fact_per_change():
    """The playbook's `fields:` read from each CRM: a HubSpot propertyChange (a clear included)
    and a Salesforce callout's field set become crm_fields_changed facts, by lead-field name."""
    changes = [{"objectId": 1, "propertyName": "industry", "propertyValue": "fintech"},
               {"objectId": 1, "propertyName": "lead_company_size", "propertyValue": ""},
               {"objectId": 1, "propertyName": "lead_use_case", "propertyValue": "billing"}]
    plan = hubspot.plan(DEMO, hubspot.parse(property_change_events(changes, portal_id=7)),
                        lambda oid, archived: "ada@acme.io")
    assert [(a.event.kind, a.event.properties) for a in plan.actions] == [
        ("crm_fields_changed", {"system": "hubspot", "industry": "fintech"}),
        ("crm_fields_changed", {"system": "hubspot", "company_size": ""}),
        ("crm_fields_changed", {"system": "hubspot", "use_case": "billing"})]
    # Fields alone (a Status naming several stages): the fields still reach the lead.
    actions = sf(Status="Working", Lead_Stage__c="MQL", NumberOfEmployees=500, Industry=None,
                 Website="x.io")
    (fields,) = actions
    assert fields.event.kind == "crm_fields_changed" and fields.event.actor == "sam@acme.io"
    assert fields.event.properties == {"system": "salesforce", "company_size": "500", "industry": ""}
    with_stage = sf(Status="Working", Lead_Stage__c="Demo Scheduled", NumberOfEmployees=500)
    assert [a.event.kind for a in with_stage] == ["crm_fields_changed", "crm_stage_changed"]
