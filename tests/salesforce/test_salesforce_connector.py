"""SalesforceConnector through the real simple-salesforce client, over TLS, against the emulator."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import Settings
from connectors.base import LeadSnapshot, OwnerTask, VendorError
from connectors.salesforce import SalesforceConnector, metadata_xml
from emulators import salesforce as sf_emulator
from tests.support.sf_helpers import STAGE_FIELDS, lead, make_connector


def test_250_leads_land_in_two_collection_calls(org, connector: SalesforceConnector) -> None:
    owner = org.state.add_user("rep@example.com", "Rita Rep")
    leads = [lead(n, owner_id=owner if n == 7 else None) for n in range(250)]
    leads[3] = lead(3, "Nurture", follow_up_date=date(2030, 1, 15), fit_grade="B", icp="pass",
                    properties={"lastname": "Lovelace", "company": "Analytical"})

    results = connector.upsert_leads(leads)

    # Lead 7 carries its owner, so it goes apart with Sforce-Auto-Assign: FALSE.
    assert org.state.calls["collections.upsert"] == 3
    assert org.state.calls["query"] == 2  # one adoption query per collection of new keys
    assert org.state.api_usage == 5  # login is not an API call; nothing else was sent
    assert [r.email for r in results] == [x.email for x in leads]
    assert all(r.ok for r in results)
    stored = org.state.lead_by_key("person3@example.com")
    assert stored is not None and stored["Id"] == results[3].record_id
    assert (stored["Status"], stored["Lead_Stage__c"], stored["Follow_Up_Date__c"]) == (
        "Nurturing", "Nurture", "2030-01-15")
    assert (stored["Fit_Grade__c"], stored["ICP_Status__c"]) == ("B", "pass")
    assert (stored["LastName"], stored["Company"], stored["Email"]) == (
        "Lovelace", "Analytical", "Person3@Example.com")
    other = org.state.lead_by_key("person7@example.com")
    assert other is not None
    assert (other["Status"], other["Lead_Score__c"], other["OwnerId"]) == ("Working", 7, owner)
    assert (other["LastName"], other["Company"]) == ("[not provided]", "[not provided]")
    assert len(org.state.select("Lead", include_deleted=True)) == 250


def test_second_upsert_updates_the_same_records(org, connector: SalesforceConnector) -> None:
    first = connector.upsert_leads([lead(n) for n in range(5)])
    again = [LeadSnapshot(email=f"person{n}@example.COM", stage="SQL", score=90)
             for n in range(5)]

    second = connector.upsert_leads(again)

    assert [r.record_id for r in second] == [r.record_id for r in first]
    assert len(org.state.select("Lead", include_deleted=True)) == 5
    assert {r["Status"] for r in org.state.select("Lead", False)} == {"Qualified"}
    assert {r["Lead_Score__c"] for r in org.state.select("Lead", False)} == {90}


def test_bad_picklist_value_fails_only_that_lead(org) -> None:
    connector = make_connector(org, stage_fields=STAGE_FIELDS | {"Odd": {"Status": "Bogus"}})

    results = connector.upsert_leads([lead(1), lead(2, "Odd"), lead(3)])

    assert [r.ok for r in results] == [True, False, True]
    bad = results[1]
    assert bad.vendor_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" and not bad.retryable
    assert "Person2@Example.com" in bad.message and "Status" in bad.message
    assert org.state.lead_by_key("person2@example.com") is None
    assert org.state.lead_by_key("person3@example.com") is not None


def test_unknown_field_fails_only_the_leads_carrying_it(org) -> None:
    connector = make_connector(
        org, stage_fields=STAGE_FIELDS | {"PQL": {"Status": "Working", "Rating__c": "Hot"}})

    results = connector.upsert_leads([lead(1), lead(2, "PQL"), lead(3, "SQL")])

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].vendor_code == "INVALID_FIELD" and not results[1].retryable
    assert "Rating__c" in results[1].message and "Person2@Example.com" in results[1].message
    assert org.state.lead_by_key("person3@example.com")["Status"] == "Qualified"


def test_fields_not_deployed_is_a_configuration_error() -> None:
    with sf_emulator.start(custom_fields=False) as bare:
        connector = make_connector(bare)
        assert connector.provision() == [
            "Lead.Leadflow_Key__c (Text, External ID, Unique)", "Lead.Lead_Stage__c (Text)",
            "Lead.Lead_Score__c (Number)", "Lead.Disqualification_Reason__c (Text)",
            "Lead.Loss_Reason__c (Text)", "Lead.Follow_Up_Date__c (Date)",
            "Lead.Fit_Grade__c (Text)", "Lead.ICP_Status__c (Text)",
            # the stock playbooks' `fields:`
            "Lead.Role__c (Text)", "Lead.Use_Case__c (Text)", "Lead.Timeline__c (Text)",
            "Lead.Stakeholders__c (Text)", "Lead.Budget__c (Text)", "Lead.Nurture_Path__c (Text)",
            "Lead.Snooze_Reason__c (Text)",
            "Task.Leadflow_Task_Key__c (Text, an Activity field)",
            "Account.Leadflow_Account_Key__c (Text, External ID, Unique)",
            "Account.Account_Stage__c (Text)", "Account.Furthest_Lead_Stage__c (Text)",
            "Account.Active_Evaluation__c (Checkbox)", "Account.Demo_Completed__c (Checkbox)",
            "Account.Leadflow_Leads__c (Number)",
        ]
        with pytest.raises(VendorError) as caught:
            connector.upsert_leads([lead(1)])
        assert caught.value.code == "INVALID_FIELD" and not caught.value.retryable


def test_provision_reports_missing_status_values_and_nothing_when_ready(org) -> None:
    assert make_connector(org).provision() == []
    odd = make_connector(org, stage_fields={"PQL": {"Status": "Product Qualified"}})
    assert odd.provision() == ["Lead.Status picklist value 'Product Qualified'"]


def test_metadata_xml_declares_every_custom_field(tmp_path: Path) -> None:
    package, lead_object, activity_object, account_object = metadata_xml(tmp_path)
    ns = {"m": "http://soap.sforce.com/2006/04/metadata"}
    members = [m.text for m in ET.parse(package).findall(".//m:members", ns)]
    fields = ET.parse(lead_object).findall("m:fields", ns)
    names = [f.findtext("m:fullName", namespaces=ns) for f in fields]
    task_fields = [f.findtext("m:fullName", namespaces=ns)
                   for f in ET.parse(activity_object).findall("m:fields", ns)]
    account_fields = [f.findtext("m:fullName", namespaces=ns)
                      for f in ET.parse(account_object).findall("m:fields", ns)]
    assert members == [f"Lead.{n}" for n in names] + ["Activity.Leadflow_Task_Key__c"] + [
        f"Account.{n}" for n in account_fields]
    assert account_fields[0] == "Leadflow_Account_Key__c" and "Active_Evaluation__c" in account_fields
    assert task_fields == ["Leadflow_Task_Key__c"]
    assert set(names) == {"Leadflow_Key__c", "Lead_Stage__c", "Lead_Score__c",
                          "Disqualification_Reason__c", "Loss_Reason__c", "Follow_Up_Date__c",
                          "Fit_Grade__c", "ICP_Status__c",
                          "Role__c", "Use_Case__c", "Timeline__c", "Stakeholders__c", "Budget__c",
                          "Nurture_Path__c", "Snooze_Reason__c"}
    key = next(f for f in fields if f.findtext("m:fullName", namespaces=ns) == "Leadflow_Key__c")
    assert key.findtext("m:externalId", namespaces=ns) == "true"


def test_expired_session_logs_in_again_and_succeeds(org, connector: SalesforceConnector) -> None:
    connector.upsert_leads([lead(1)])
    org.state.expire_sessions()

    results = connector.upsert_leads([lead(2)])

    assert results[0].ok
    assert org.state.logins == 2
    assert org.state.lead_by_key("person2@example.com") is not None


def test_expired_bare_session_id_is_not_retryable(org, raw_client) -> None:
    client = raw_client()
    connector = SalesforceConnector(stage_fields=STAGE_FIELDS,
                                    instance_url=f"https://{client.sf_instance}",
                                    session_id=client.session_id, ca_bundle=org.ca_path)
    assert connector.upsert_leads([lead(1)])[0].ok
    org.state.expire_sessions()

    with pytest.raises(VendorError) as caught:
        connector.upsert_leads([lead(2)])

    assert caught.value.code == "INVALID_SESSION_ID" and not caught.value.retryable


def test_wrong_password_is_refused_without_leaking_it(org) -> None:
    connector = make_connector(org, password="not-the-password")

    with pytest.raises(VendorError) as caught:
        connector.upsert_leads([lead(1)])

    assert caught.value.code == "invalid_grant" and not caught.value.retryable
    assert "not-the-password" not in str(caught.value) + repr(connector)


def test_daily_limit_is_a_retryable_error_without_hammering(org, connector) -> None:
    org.state.api_usage = org.state.daily_limit

    with pytest.raises(VendorError) as caught:
        connector.upsert_leads([lead(1)])

    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED" and caught.value.retryable
    assert org.state.calls["query"] == 1  # the adoption query met the limit; nothing retried
    assert org.state.calls["collections.upsert"] == 0


def test_connector_holds_back_before_the_daily_limit(org) -> None:
    connector = make_connector(org, api_reserve=0.05)
    org.state.api_usage = int(org.state.daily_limit * 0.95) - 2
    assert connector.upsert_leads([lead(1)])[0].ok  # its query and upsert reach 95 %

    with pytest.raises(VendorError) as caught:
        connector.upsert_leads([lead(2)])

    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED" and caught.value.retryable
    assert org.state.calls["collections.upsert"] == 1


def test_daily_limit_holds_writes_until_a_probe_finds_room_again(org) -> None:
    connector = make_connector(org, limit_probe_s=0.5)
    org.state.api_usage = org.state.daily_limit
    with pytest.raises(VendorError) as first:
        connector.upsert_leads([lead(1)])
    assert 0 < first.value.retry_after <= 0.5  # the caller knows when the next probe is due
    with pytest.raises(VendorError) as held:
        connector.upsert_leads([lead(1)])  # held in the process: Salesforce sees nothing
    assert held.value.retryable and 0 < held.value.retry_after <= 0.5
    # Only the first call reached Salesforce (the adoption query, which met the limit).
    assert (org.state.calls["query"], org.state.calls["collections.upsert"]) == (1, 0)

    org.state.api_usage = 0  # the rolling 24-hour window freed room
    time.sleep(0.6)
    assert connector.upsert_leads([lead(1)])[0].ok  # the next call probes, and goes through
    assert org.state.calls["collections.upsert"] == 1


def test_a_keyed_task_is_created_once_and_an_org_without_the_key_field_still_gets_it(org) -> None:
    connector = make_connector(org)
    connector.upsert_leads([lead(1)])
    task = OwnerTask(email=lead(1).email, owner_id=None, subject="Call", body="b", key="run-1:1")
    assert connector.create_task(task) == connector.create_task(task)
    assert len(org.state.select("Task", False)) == 1

    with sf_emulator.start(custom_fields="Lead") as older:  # Lead fields only, no Task key
        connector = make_connector(older)
        connector.upsert_leads([lead(1)])
        connector.create_task(task)
        [made] = older.state.select("Task", False)
        assert made["Subject"] == "Call" and "Leadflow_Task_Key__c" not in made


def test_lock_contention_is_retried_until_the_rows_free_up(org, connector) -> None:
    org.state.plant_lock_failures(2)

    results = connector.upsert_leads([lead(n) for n in range(3)])

    assert all(r.ok for r in results)
    assert org.state.calls["collections.upsert"] == 3
    assert len(org.state.select("Lead", False)) == 3


def test_lasting_lock_contention_ends_as_retryable_per_lead_failures(org) -> None:
    org.state.plant_lock_failures(10)
    connector = make_connector(org, max_attempts=3)

    results = connector.upsert_leads([lead(1), lead(2)])

    assert [(r.ok, r.vendor_code, r.retryable) for r in results] == [
        (False, "UNABLE_TO_LOCK_ROW", True)] * 2
    assert org.state.calls["collections.upsert"] == 3


def test_server_errors_are_retried_then_raised_as_retryable(org, connector) -> None:
    connector.upsert_leads([lead(1), lead(2)])  # keys known: no adoption query below
    org.state.calls.clear()
    org.state.faults.plant(2, 503, retry_after_s=0)
    assert connector.upsert_leads([lead(1)])[0].ok
    assert org.state.calls["collections.upsert"] == 3

    org.state.faults.plant(50, 500, retry_after_s=0)
    with pytest.raises(VendorError) as caught:
        connector.upsert_leads([lead(2)])
    assert caught.value.retryable and caught.value.code == "UNKNOWN_EXCEPTION"
    assert org.state.calls["collections.upsert"] == 3 + connector.max_attempts


def test_concurrent_request_limit_is_retried_in_process(org, connector) -> None:
    connector.upsert_leads([lead(1)])
    org.state.calls.clear()
    org.state.faults.plant(1, 429)  # Salesforce answers 403 ConcurrentPerOrgLongTxn, not 429

    assert connector.upsert_leads([lead(1)])[0].ok
    assert org.state.calls["collections.upsert"] == 2


def test_converted_lead_fails_alone(org, connector: SalesforceConnector) -> None:
    first = connector.upsert_leads([lead(n) for n in range(3)])
    org.state.convert_lead(first[1].record_id)

    results = connector.upsert_leads([lead(n, "SQL") for n in range(3)])

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].vendor_code == "CANNOT_UPDATE_CONVERTED_LEAD" and not results[1].retryable
    assert "Person1@Example.com" in results[1].message
    assert org.state.get("Lead", first[1].record_id)["Status"] == "Closed - Converted"
    assert org.state.get("Lead", first[2].record_id)["Status"] == "Qualified"


def test_changed_since_pages_through_next_records_url(org, connector) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    ids = [r.record_id for r in connector.upsert_leads([lead(n) for n in range(7)])]
    org.state.rep_set_status(ids[2], "Qualified")
    org.state.merge_leads(ids[0], ids[5])
    org.state.query_batch_size = 3

    pages, cursor = [], None
    while True:
        page = connector.changed_since(start, None, cursor)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert [len(p.records) for p in pages] == [3, 3, 1]
    records = [r for p in pages for r in p.records]
    assert sorted(r.email for r in records) == sorted(f"person{n}@example.com" for n in range(7))
    assert [r.modified_at for r in records] == sorted(r.modified_at for r in records)
    by_id = {r.record_id: r for r in records}
    assert by_id[ids[2]].stage_value == "Qualified"
    assert by_id[ids[5]].deleted and by_id[ids[5]].merged_into == ids[0]
    assert by_id[ids[3]].properties["Lead_Stage__c"] == "MQL"
    assert org.state.calls["queryAll"] == 1 and org.state.calls["query_more"] == 2


def test_changed_since_window_excludes_older_changes(org, connector) -> None:
    connector.upsert_leads([lead(1)])
    later = datetime.now(UTC) + timedelta(seconds=2)

    assert connector.changed_since(later, None, None).records == []


def test_owners_lists_users_with_activity(org, connector: SalesforceConnector) -> None:
    active = org.state.add_user("Ann@Example.com", "Ann Active")
    gone = org.state.add_user("gus@example.com", "Gus Gone", active=False)

    owners = {o.id: o for o in connector.owners()}

    assert owners[active].email == "ann@example.com" and owners[active].active
    assert owners[active].name == "Ann Active"
    assert not owners[gone].active


def test_create_task_attaches_to_the_lead_and_its_owner(org, connector) -> None:
    rep = org.state.add_user("rep@example.com", "Rita Rep")
    lead_id = connector.upsert_leads([lead(4, owner_id=rep)])[0].record_id

    task_id = connector.create_task(OwnerTask(
        email="person4@example.com", owner_id=None, subject="Call within 4 business hours",
        body="Demo requested", due_at=datetime(2030, 2, 3, 15, tzinfo=UTC)))

    task = org.state.get("Task", task_id)
    assert (task["WhoId"], task["OwnerId"], task["ActivityDate"]) == (lead_id, rep, "2030-02-03")
    assert task["Subject"] == "Call within 4 business hours"
    with pytest.raises(VendorError) as caught:
        connector.create_task(OwnerTask(email="nobody@example.com", owner_id=None,
                                        subject="x", body="y"))
    assert caught.value.code == "NOT_FOUND" and not caught.value.retryable


def test_from_settings_with_a_session_id(org, raw_client) -> None:
    client = raw_client()
    settings = Settings(_env_file=None, SALESFORCE_INSTANCE_URL=f"https://{client.sf_instance}",
                        SALESFORCE_SESSION_ID=client.session_id,
                        SALESFORCE_CA_BUNDLE=org.ca_path)

    connector = SalesforceConnector.from_settings(settings, STAGE_FIELDS)

    assert connector.upsert_leads([lead(1, "SQL")])[0].ok
    assert org.state.lead_by_key("person1@example.com")["Status"] == "Qualified"
    assert client.session_id not in repr(connector)


def test_from_settings_logs_in_with_the_emulator_environment(org) -> None:
    settings = Settings(_env_file=None, **org.env)

    connector = SalesforceConnector.from_settings(settings, STAGE_FIELDS)

    assert connector.upsert_leads([lead(2, "Nurture")])[0].ok
    assert org.state.lead_by_key("person2@example.com")["Status"] == "Nurturing"
    assert org.state.logins == 1


def test_a_burst_of_writes_is_found_by_a_window_ending_now(org, connector: SalesforceConnector) -> None:
    # SystemModstamp once moved 1 ms ahead per write, so a burst stamped records in the future and a
    # backfill window ending "now" missed them (seen as 98 of 120 leads in the full suite).
    since = datetime.now(UTC) - timedelta(seconds=1)
    assert all(r.ok for r in connector.upsert_leads([lead(n) for n in range(1000)]))
    until = datetime.now(UTC)
    page = connector.changed_since(since, until, None)
    seen = len(page.records)
    while page.next_cursor:
        page = connector.changed_since(since, until, page.next_cursor)
        seen += len(page.records)
    assert seen == 1000
