"""Leads the org already holds (made by reps, forms, imports) and the standard duplicate rule.

The emulator runs the standard Lead duplicate rule by default, as real orgs do: an insert, update
or upsert whose Email matches another Lead is refused with DUPLICATES_DETECTED unless the request
sends `Sforce-Duplicate-Rule-Header: allowSave=true`.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.salesforce import SalesforceConnector
from emulators.salesforce.state import Save
from tests.support.sf_helpers import lead, make_connector

UPSERT = "composite/sobjects/Lead/Leadflow_Key__c"


def rep_made(org, email: str, **fields: object) -> str:
    """A Lead a rep typed in before leadflow was installed: no Leadflow_Key__c."""
    lead_id, errors = org.state.insert("Lead", {"LastName": "Rep", "Company": "Made",
                                                "Email": email} | fields, save=Save(allow_save=True))
    assert not errors
    return lead_id


def test_existing_lead_is_adopted_not_duplicated(org, connector: SalesforceConnector) -> None:
    older = rep_made(org, "person1@example.com", Status="Working")
    newer = rep_made(org, "PERSON1@example.com")
    converted = rep_made(org, "person2@example.com")
    org.state.convert_lead(converted)
    org.state.calls.clear()

    results = connector.upsert_leads([lead(1, "SQL"), lead(2, "SQL"), lead(3, "SQL")])

    # Person1: the oldest open Lead carries the key and leadflow's stage; no third Lead.
    assert results[0].ok and results[0].record_id == older
    assert org.state.get("Lead", older)["Leadflow_Key__c"] == "person1@example.com"
    assert org.state.get("Lead", older)["Status"] == "Qualified"
    assert org.state.get("Lead", newer).get("Leadflow_Key__c") is None
    assert len(org.state.find("Lead", "Email", "Person1@Example.com")) == 0  # stored as the rep typed
    assert sum(1 for r in org.state.select("Lead", False)
               if r["Email"].lower() == "person1@example.com") == 2
    # Person2: only a converted Lead, which is never adopted: the duplicate rule refuses the
    # insert, and the failure says what is in the way and what to do.
    assert not results[1].ok and results[1].vendor_code == "DUPLICATES_DETECTED"
    assert not results[1].retryable
    assert converted in results[1].message and "Merge" in results[1].message
    assert org.state.get("Lead", converted).get("Leadflow_Key__c") is None
    # Person3: nothing existed, so the upsert created it.
    assert results[2].ok and org.state.lead_by_key("person3@example.com") is not None
    # One SOQL query for the batch, one update for the adoption, and two upserts: the adopted
    # Lead keeps its owner (Sforce-Auto-Assign: FALSE), new ones go to the org's rule.
    assert org.state.calls["query"] == 1
    assert (org.state.calls["collections.update"], org.state.calls["collections.upsert"]) == (1, 2)


def test_a_process_asks_once_per_key(org, connector: SalesforceConnector) -> None:
    connector.upsert_leads([lead(1)])
    connector.upsert_leads([lead(1, "SQL")])

    assert org.state.calls["query"] == 1


def test_adoption_queries_escape_quotes(org, connector: SalesforceConnector) -> None:
    email = "o'brien@example.com"
    existing = rep_made(org, email)

    result = connector.upsert_leads([lead(1).model_copy(update={"email": email})])[0]

    assert result.ok and result.record_id == existing


def test_duplicate_rule_runs_on_upsert_and_update_unless_allow_save(org, raw_client) -> None:
    sf = raw_client()
    rep_made(org, "dup@example.com")
    record = {"attributes": {"type": "Lead"}, "Leadflow_Key__c": "k1", "LastName": "L",
              "Company": "C", "Email": "Dup@Example.com"}

    refused = sf.restful(UPSERT, method="PATCH", json={"records": [record]})[0]
    assert refused["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    assert refused["errors"][0]["duplicateResult"]["matchResults"][0]["size"] == 1
    saved = sf.restful(UPSERT, method="PATCH", json={"records": [record]},
                       headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})[0]
    assert saved["success"] and saved["created"]
    other = sf.Lead.create({"LastName": "L", "Company": "C", "Email": "other@example.com"})
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.update(other["id"], {"Email": "dup@example.com"})
    assert caught.value.content[0]["errorCode"] == "DUPLICATES_DETECTED"
    # An edit that leaves Email alone does not run the rule.
    assert sf.Lead.update(saved["id"], {"Title": "CTO"}) == 204


def test_org_without_the_rule_keeps_duplicates(org) -> None:
    org.state.duplicate_rule = False
    try:
        converted = rep_made(org, "person2@example.com")
        org.state.convert_lead(converted)
        result = make_connector(org).upsert_leads([lead(2)])[0]
    finally:
        org.state.duplicate_rule = True

    assert result.ok and result.record_id != converted


def test_assignment_rule_reassigns_only_where_leadflow_lets_it(org, connector) -> None:
    rep = org.state.add_user("rep@example.com", "Rita Rep")
    queue = org.state.assignment_owner
    typed_in = rep_made(org, "person3@example.com", OwnerId=rep)

    results = connector.upsert_leads([lead(1, owner_id=rep), lead(2), lead(3)])

    owners = [org.state.get("Lead", r.record_id)["OwnerId"] for r in results]
    # leadflow's owner stays; a new lead leadflow gives no owner is the org's rule's to route;
    # a Lead a rep already owns is not handed to the rule by leadflow's writes.
    assert owners == [rep, queue, rep]
    assert results[2].record_id == typed_in
    org_rules = make_connector(org, assignment_rules=True)
    org_rules.upsert_leads([lead(1, "SQL", owner_id=rep)])
    assert org.state.lead_by_key("person1@example.com")["OwnerId"] == queue
