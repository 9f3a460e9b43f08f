"""Search paging and its 10,000 cap, owners, tasks, provisioning, archive and merge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import PublicMergeInput, PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException

from connectors.base import LeadSnapshot, OwnerTask, VendorError
from connectors.hubspot import HubSpotConnector
from emulators.hubspot import Running
from tests.support.hs_helpers import connector_for

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _client(hub: Running) -> HubSpot:
    return HubSpot(access_token=hub.token, host=hub.url)


def test_changed_since_pages_through_a_window(hub: Running, connector: HubSpotConnector) -> None:
    hub.state.seed_contacts(450, T0, timedelta(seconds=1))
    seen, cursor, pages = [], None, 0
    while True:
        page = connector.changed_since(T0 + timedelta(seconds=10), T0 + timedelta(seconds=440),
                                       cursor)
        seen += page.records
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == 3  # 430 records at 200 per page
    assert [r.email for r in seen] == [f"seed{i}@example.com" for i in range(10, 440)]
    assert seen[0].modified_at == T0 + timedelta(seconds=10)
    assert seen[0].stage_value == "lead" and seen[0].record_id
    assert connector.count_changed(T0, T0 + timedelta(seconds=100)) == 100


def test_search_cap_of_10000(hub: Running, connector: HubSpotConnector) -> None:
    hub.state.seed_contacts(10_050, T0, timedelta(seconds=1))
    search = _client(hub).crm.contacts.search_api

    last_page = search.do_search(PublicObjectSearchRequest(limit=200, after="9800"))
    assert last_page.total == 10_050 and len(last_page.results) == 200
    with pytest.raises(ApiException) as beyond:
        search.do_search(PublicObjectSearchRequest(limit=200, after="10000"))
    assert beyond.value.status == 400 and "VALIDATION_ERROR" in beyond.value.body

    assert connector.count_changed(T0) == 10_050
    with pytest.raises(VendorError) as too_big:
        connector.changed_since(T0, None, None)
    assert too_big.value.code == "SEARCH_WINDOW_TOO_LARGE" and not too_big.value.retryable
    # Split as the caller should, each half fits under the cap.
    middle = T0 + timedelta(seconds=5000)
    assert connector.count_changed(T0, middle) + connector.count_changed(middle) == 10_050
    assert len(connector.changed_since(T0, middle, None).records) == 200


def test_search_filters_and_limits(hub: Running) -> None:
    hub.state.seed_contacts(5, T0, timedelta(minutes=1))
    search = _client(hub).crm.contacts.search_api

    def emails(filters: list[dict], sorts: list | None = None) -> list[str]:
        found = search.do_search(PublicObjectSearchRequest(
            filter_groups=[{"filters": filters}], sorts=sorts or [], limit=50))
        return [r.properties["email"] for r in found.results]

    assert emails([{"propertyName": "email", "operator": "IN",
                    "values": ["SEED1@example.com", "seed3@example.com"]}]) == \
        ["seed1@example.com", "seed3@example.com"]
    assert emails([{"propertyName": "lastmodifieddate", "operator": "GT",
                    "value": (T0 + timedelta(minutes=2)).isoformat()}],
                  [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}]) == \
        ["seed4@example.com", "seed3@example.com"]
    assert emails([{"propertyName": "firstname", "operator": "HAS_PROPERTY"}]) == []
    with pytest.raises(ApiException) as too_many:
        search.do_search(PublicObjectSearchRequest(limit=201))
    assert too_many.value.status == 400


def test_owners_lists_active_and_inactive(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(owners=[
        {"id": "7", "email": "a@example.com", "firstName": "Ann", "lastName": "Lee"},
        {"id": "8", "email": "b@example.com", "firstName": "Ben", "archived": True}])
    owners = connector_for(hub).owners()

    assert [(o.id, o.email, o.name, o.active) for o in owners] == [
        ("7", "a@example.com", "Ann Lee", True), ("8", "b@example.com", "Ben", False)]


def test_create_task_is_associated_to_the_contact(provisioned: Running,
                                                  connector: HubSpotConnector) -> None:
    [result] = connector.upsert_leads([LeadSnapshot(email="t@example.com", stage="SQL")])
    due = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)

    task_id = connector.create_task(OwnerTask(email="T@example.com", owner_id="102",
                                              subject="Call within 4h", body="SLA", due_at=due))

    [task] = provisioned.state.records("tasks")
    assert task.id == task_id
    assert task.associations["contacts"] == {result.record_id}
    assert task.properties["hs_task_subject"] == "Call within 4h"
    assert task.properties["hubspot_owner_id"] == "102"
    assert task.properties["hs_timestamp"] == "2025-02-03T09:30:00.000Z"
    with pytest.raises(VendorError) as missing:
        connector.create_task(OwnerTask(email="nobody@example.com", owner_id=None,
                                        subject="x", body="y"))
    assert missing.value.code == "CONTACT_NOT_FOUND" and not missing.value.retryable


def test_a_keyed_task_is_created_once_however_often_it_is_asked_for(
        hub: Running, connector: HubSpotConnector) -> None:
    connector.provision()
    connector.upsert_leads([LeadSnapshot(email="k@example.com", stage="SQL")])
    task = OwnerTask(email="k@example.com", owner_id=None, subject="Call", body="b", key="run-1:1")

    first, again = connector.create_task(task), connector.create_task(task)

    assert first == again and len(hub.state.records("tasks")) == 1
    other = connector.create_task(task.model_copy(update={"key": "run-1:2"}))
    assert other != first and len(hub.state.records("tasks")) == 2


def test_a_portal_without_the_task_key_property_still_gets_its_tasks(
        provisioned: Running, connector: HubSpotConnector) -> None:
    connector.upsert_leads([LeadSnapshot(email="old@example.com", stage="SQL")])

    connector.create_task(OwnerTask(email="old@example.com", owner_id=None, subject="Call",
                                    body="b", key="run-1:1"))

    [task] = provisioned.state.records("tasks")
    assert task.properties["hs_task_subject"] == "Call" and "leadflow_task_key" not in task.properties


def test_provision_is_idempotent(hub: Running, connector: HubSpotConnector) -> None:
    first = connector.provision()
    second = connector.provision()

    assert first == ["group leadflow: created"] + [
        f"property {n}: created" for n in ("lead_stage", "lead_score",
                                           "lead_disqualification_reason", "lead_loss_reason",
                                           "lead_follow_up_date", "lead_fit_grade", "lead_icp",
                                           # the stock playbooks' `fields:`
                                           "lead_company_size", "lead_role", "lead_use_case",
                                           "lead_timeline", "lead_stakeholders", "lead_budget",
                                           "lead_nurture_path", "lead_snooze_reason")] + [
        "task group leadflow: created", "task property leadflow_task_key: created",
        "company group leadflow: created"] + [
        f"company property {n}: created" for n in (
            "leadflow_account_stage", "leadflow_furthest_stage", "leadflow_active_evaluation",
            "leadflow_demo_completed", "leadflow_leads")]
    assert second == [line.replace("created", "found") for line in first]
    assert hub.state.count("POST /crm/v3/properties/contacts") == 15
    assert hub.state.count("POST /crm/v3/properties/tasks") == 1
    assert hub.state.count("POST /crm/v3/properties/companies") == 5
    flag = hub.state.properties["companies"]["leadflow_demo_completed"]
    assert flag["type"] == "bool" and [o["value"] for o in flag["options"]] == ["true", "false"]
    definition = hub.state.properties["contacts"]["lead_follow_up_date"]
    assert definition["type"] == "date" and definition["groupName"] == "leadflow"
    results = connector.upsert_leads([LeadSnapshot(email="p@example.com", stage="MQL")])
    assert results[0].ok


def test_archive_and_merge_are_visible(hub: Running) -> None:
    a, b, c = hub.state.seed_contacts(3, T0, timedelta(seconds=1))
    contacts = _client(hub).crm.contacts

    contacts.basic_api.archive(a.id)
    merged = contacts.basic_api.merge(PublicMergeInput(primary_object_id=b.id,
                                                             object_id_to_merge=c.id))

    assert merged.id == b.id
    assert contacts.search_api.do_search(PublicObjectSearchRequest(limit=10)).total == 1
    archived = contacts.basic_api.get_page(archived=True)
    assert {r.id for r in archived.results} == {a.id, c.id}
    assert contacts.basic_api.get_by_id(c.id).id == b.id  # a merged id resolves to the survivor
    assert hub.state.store.records["contacts"][c.id].merged_into == b.id
