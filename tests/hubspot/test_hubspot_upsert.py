"""Lead upserts through the real hubspot-api-client against the emulator."""

from __future__ import annotations

from datetime import date

from hubspot import HubSpot
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputUpsert as UpsertBatch
from hubspot.crm.contacts import SimplePublicObjectBatchInputUpsert as UpsertInput

from connectors.base import LeadSnapshot
from connectors.hubspot import HubSpotConnector
from emulators.hubspot import Running
from tests.support.hs_helpers import UPSERT, stored


def _leads(n: int, stage: str = "MQL", **extra: object) -> list[LeadSnapshot]:
    return [LeadSnapshot(email=f"Lead{i}@Example.com", stage=stage, score=i, **extra)
            for i in range(n)]


def test_250_leads_land_in_three_batch_calls(provisioned: Running,
                                              connector: HubSpotConnector) -> None:
    leads = _leads(250, owner_id="101", follow_up_date=date(2025, 3, 1), fit_grade="A", icp="pass",
                   properties={"firstname": "Pat", "company": "Acme"})

    results = connector.upsert_leads(leads)

    assert provisioned.state.count(UPSERT) == 3
    assert provisioned.state.total_calls() == 3
    assert [r.email for r in results] == [lead.email for lead in leads]  # input order
    assert all(r.ok and r.record_id for r in results)
    assert len(provisioned.state.contacts()) == 250
    props = stored(provisioned, "lead42@example.com")
    assert props["lifecyclestage"] == "marketingqualifiedlead"
    assert props["hs_lead_status"] == "OPEN"
    assert props["lead_stage"] == "MQL"
    assert props["lead_score"] == "42"
    assert props["lead_follow_up_date"] == "2025-03-01"
    assert (props["lead_fit_grade"], props["lead_icp"]) == ("A", "pass")
    assert props["hubspot_owner_id"] == "101"
    assert props["firstname"] == "Pat" and props["company"] == "Acme"


def test_upsert_is_idempotent_by_email(provisioned: Running, connector: HubSpotConnector) -> None:
    first = connector.upsert_leads(_leads(3))
    again = connector.upsert_leads(_leads(3, stage="SQL"))

    assert [r.record_id for r in first] == [r.record_id for r in again]
    assert len(provisioned.state.contacts()) == 3
    assert stored(provisioned, "lead1@example.com")["lead_stage"] == "SQL"


def test_backward_lifecycle_move_lands(provisioned: Running, connector: HubSpotConnector) -> None:
    connector.upsert_leads([LeadSnapshot(email="back@example.com", stage="Opportunity Created")])

    results = connector.upsert_leads([LeadSnapshot(
        email="back@example.com", stage="Nurture", previous_stage="Opportunity Created",
        follow_up_date=date(2025, 6, 1))])

    assert results[0].ok
    props = stored(provisioned, "back@example.com")
    assert props["lifecyclestage"] == "lead"
    assert props["lead_stage"] == "Nurture"
    # One clearing request and one write, not a retry storm.
    assert provisioned.state.count(UPSERT) == 3


def test_emulator_keeps_a_later_stage_unless_cleared_first(provisioned: Running) -> None:
    # What any client sees from HubSpot: success, yet the later stage stays.
    batch = HubSpot(access_token=provisioned.token, host=provisioned.url).crm.contacts.batch_api

    def write(stage: str) -> str:
        done = batch.upsert(UpsertBatch(inputs=[UpsertInput(
            id="x@example.com", id_property="email", properties={"lifecyclestage": stage})]))
        return done.results[0].properties["lifecyclestage"]

    assert write("customer") == "customer"
    assert write("subscriber") == "customer"
    assert write("") == ""
    assert write("subscriber") == "subscriber"
    assert stored(provisioned, "x@example.com")["lifecyclestage"] == "subscriber"


def test_backward_move_unknown_to_leadflow_is_still_applied(
    provisioned: Running, connector: HubSpotConnector
) -> None:
    # A salesperson moved the contact to customer in HubSpot; leadflow thinks it is an MQL.
    connector.upsert_leads([LeadSnapshot(email="moved@example.com", stage="MQL")])
    with provisioned.state.lock:
        stored(provisioned, "moved@example.com")["lifecyclestage"] = "customer"

    results = connector.upsert_leads([LeadSnapshot(email="moved@example.com", stage="SQL",
                                                   previous_stage="MQL")])

    assert results[0].ok
    assert stored(provisioned, "moved@example.com")["lifecyclestage"] == \
        "salesqualifiedlead"


def test_before_provision_every_lead_fails_naming_the_missing_property(
    hub: Running, connector: HubSpotConnector
) -> None:
    results = connector.upsert_leads(_leads(5))

    assert not any(r.ok or r.retryable for r in results)
    assert {r.vendor_code for r in results} == {"PROPERTY_DOESNT_EXIST"}
    assert "lead_stage" in str(results[3].message) and "lead3@example.com" in str(results[3].message)
    assert hub.state.contacts() == []
    assert hub.state.count(UPSERT) == 1  # the error names the property: no bisecting needed


def test_bad_records_fail_alone_and_good_ones_land(provisioned: Running,
                                                   connector: HubSpotConnector) -> None:
    leads = _leads(120)
    # A stage without HubSpot values leaves the lead's own properties as they are.
    leads[7] = LeadSnapshot(email="badoption@example.com", stage="Unmapped",
                            properties={"hs_lead_status": "MAYBE"})
    leads[64] = LeadSnapshot(email="unknownprop@example.com", stage="MQL",
                             properties={"favourite_colour": "teal"})
    leads[110] = LeadSnapshot(email="ghostowner@example.com", stage="MQL", owner_id="999")

    results = connector.upsert_leads(leads)

    failed = {r.email.lower(): r for r in results if not r.ok}
    assert set(failed) == {"badoption@example.com", "unknownprop@example.com",
                           "ghostowner@example.com"}
    assert failed["badoption@example.com"].vendor_code == "INVALID_OPTION"
    assert "hs_lead_status" in str(failed["badoption@example.com"].message)
    assert failed["unknownprop@example.com"].vendor_code == "PROPERTY_DOESNT_EXIST"
    assert "favourite_colour" in str(failed["unknownprop@example.com"].message)
    assert "hubspot_owner_id" in str(failed["ghostowner@example.com"].message)
    assert not any(r.retryable for r in failed.values())
    assert len(provisioned.state.contacts()) == 117
    assert stored(provisioned, "lead8@example.com")["lead_stage"] == "MQL"
    assert results[7].email == "badoption@example.com"  # results keep input order


def test_an_unexplained_batch_failure_is_bisected(provisioned: Running,
                                                  connector: HubSpotConnector) -> None:
    leads = _leads(8)
    leads[5] = LeadSnapshot(email="not-an-email", stage="MQL")

    results = connector.upsert_leads(leads)

    assert [r.ok for r in results] == [True] * 5 + [False] + [True] * 2
    assert results[5].vendor_code == "INVALID_EMAIL"
    assert len(provisioned.state.contacts()) == 7


def test_duplicate_emails_in_one_call_write_once(provisioned: Running,
                                                 connector: HubSpotConnector) -> None:
    results = connector.upsert_leads([LeadSnapshot(email="dup@example.com", stage="MQL"),
                                      LeadSnapshot(email="DUP@example.com", stage="SQL")])

    assert [r.ok for r in results] == [True, True]
    assert results[0].record_id == results[1].record_id
    assert stored(provisioned, "dup@example.com")["lead_stage"] == "SQL"


def test_more_than_100_inputs_is_refused_like_hubspot(provisioned: Running) -> None:
    import requests

    inputs = [{"idProperty": "email", "id": f"m{i}@example.com", "properties": {}}
              for i in range(101)]
    response = requests.post(f"{provisioned.url}/crm/v3/objects/contacts/batch/upsert",
                             json={"inputs": inputs}, timeout=5,
                             headers={"Authorization": f"Bearer {provisioned.token}"})

    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR" and body["status"] == "error"
    assert "correlationId" in body
    assert provisioned.state.contacts() == []
