"""Rules a real org enforces, as the emulator does by default, and how the connector meets each:
a per-record error or a different route, never a retry loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from connectors.base import LeadSnapshot, OwnerTask
from connectors.salesforce import SalesforceConnector
from tests.support.sf_helpers import lead

UPSERT = "composite/sobjects/Lead/Leadflow_Key__c"


def task_for(email: str) -> OwnerTask:
    return OwnerTask(email=email, owner_id=None, subject="Call", body="Demo requested")


def test_an_email_ending_like_a_file_format_is_found_by_query(org, connector, raw_client) -> None:
    email = "ada@analytical.inc"
    lead_id = connector.upsert_leads([LeadSnapshot(email=email, stage="MQL")])[0].record_id
    with pytest.raises(SalesforceResourceNotFound):  # the REST guide's documented 404
        raw_client().Lead.get_by_custom_id("Leadflow_Key__c", email)

    task = org.state.get("Task", connector.create_task(task_for(email)))

    assert task["WhoId"] == lead_id


def test_bad_emails_fail_alone_without_retries(org, connector: SalesforceConnector) -> None:
    long_email = "a" * 70 + "@example.com"  # 82 characters: Lead.Email holds 80
    leads = [lead(1), LeadSnapshot(email=long_email, stage="MQL"),
             LeadSnapshot(email="not-an-email@", stage="MQL")]

    results = connector.upsert_leads(leads)

    assert results[0].ok
    assert [(r.ok, r.vendor_code, r.retryable) for r in results[1:]] == [
        (False, "STRING_TOO_LONG", False), (False, "INVALID_EMAIL_ADDRESS", False)]
    assert "Email" in results[2].message
    assert org.state.calls["collections.upsert"] == 1


def test_tasks_need_a_live_lead_and_go_to_the_contact_after_conversion(org, connector,
                                                                       raw_client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        raw_client().Task.create({"WhoId": "00Q000000000999AAA", "Subject": "x"})
    assert caught.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    lead_id = connector.upsert_leads([lead(5)])[0].record_id
    contact_id = org.state.convert_lead(lead_id)
    with pytest.raises(SalesforceMalformedRequest) as converted:
        raw_client().Task.create({"WhoId": lead_id, "Subject": "x"})
    assert converted.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"

    task = org.state.get("Task", connector.create_task(task_for("person5@example.com")))

    assert task["WhoId"] == contact_id


def test_a_batch_of_unowned_tasks_reads_its_leads_once_and_follows_conversion(org, connector) -> None:
    """Tasks naming a Lead Id but no owner (an SDR with no Salesforce user), as sync_lead hands
    them in: each goes to its Lead's owner, a converted Lead's to its Contact, one whose Lead is
    gone fails alone; one query reads the Leads and one collection insert makes the tasks."""
    live, converted = (connector.upsert_leads([lead(n)])[0].record_id for n in (6, 7))
    contact_id = org.state.convert_lead(converted)
    gone = connector.upsert_leads([lead(8)])[0].record_id
    org.state.delete("Lead", gone)
    tasks = [task_for(f"person{n}@example.com").model_copy(update={"record_id": record, "key": f"k{n}"})
             for n, record in ((6, live), (7, converted), (8, gone))]
    before = dict(org.state.calls)

    results = connector.create_tasks(tasks)

    assert [(r.ok, r.vendor_code) for r in results] == [(True, None), (True, None), (False, "NOT_FOUND")]
    made = [org.state.get("Task", r.record_id) for r in results[:2]]
    assert [t["WhoId"] for t in made] == [live, contact_id]
    assert made[0]["OwnerId"] == org.state.get("Lead", live)["OwnerId"]
    calls = {k: v - before.get(k, 0) for k, v in org.state.calls.items() if v != before.get(k, 0)}
    assert calls == {"query": 2, "collections.create": 1}  # the Leads, the task keys; the insert


def test_one_external_id_once_per_request(org, connector, raw_client) -> None:
    record = {"attributes": {"type": "Lead"}, "Leadflow_Key__c": "twice@example.com",
              "LastName": "L", "Company": "C"}
    other = record | {"Leadflow_Key__c": "once@example.com"}
    answer = raw_client().restful(UPSERT, method="PATCH", json={"records": [record, other, record]})
    assert [r["success"] for r in answer] == [False, True, False]
    assert answer[0]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert "Duplicate external id specified" in answer[0]["errors"][0]["message"]

    results = connector.upsert_leads([lead(1, "MQL"), lead(2), lead(1, "SQL")])

    assert all(r.ok for r in results) and results[0].record_id == results[2].record_id
    assert org.state.lead_by_key("person1@example.com")["Status"] == "Qualified"  # the later one
    assert [r.email for r in results] == [x.email for x in [lead(1), lead(2), lead(1)]]


def test_an_expired_query_cursor_restarts_the_window(org, connector) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    connector.upsert_leads([lead(n) for n in range(5)])
    org.state.query_batch_size = 2
    first = connector.changed_since(start, None, None)
    org.state.age_query_cursors(timedelta(days=2, seconds=1))  # the backfill resumes 2 days on

    again = connector.changed_since(start, None, first.next_cursor)

    assert [r.email for r in again.records] == [r.email for r in first.records]
    assert again.next_cursor is not None and again.next_cursor != first.next_cursor
