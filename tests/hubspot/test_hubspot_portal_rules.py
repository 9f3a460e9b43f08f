"""What real portals do that the default emulator portal did not: custom lifecycle stages,
multi-status (207) batch answers, merged contacts answering for their old address."""

from __future__ import annotations

from collections.abc import Callable

from hubspot import HubSpot
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputUpsert as UpsertBatch
from hubspot.crm.contacts import PublicMergeInput
from hubspot.crm.contacts import SimplePublicObjectBatchInputUpsert as UpsertInput

from connectors.base import LeadSnapshot
from emulators.hubspot import Running
from tests.support.hs_helpers import UPSERT, connector_for, stored

PORTAL_STAGES = ["subscriber", "lead", "marketingqualifiedlead", "trial", "salesqualifiedlead",
                 "opportunity", "customer", "other"]


def test_lifecycle_order_is_the_portals_own(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(lifecycle_stages=PORTAL_STAGES)  # a portal that added a "trial" stage
    hub.state.provision_custom()
    connector = connector_for(hub)
    connector.stage_fields["Trial"] = {"lifecyclestage": "trial"}
    email = "ada@example.com"
    connector.upsert_leads([LeadSnapshot(email=email, stage="MQL")])
    before = hub.state.count(UPSERT)

    # MQL -> Trial is forward in this portal: one write, the stage never cleared on the way.
    assert connector.upsert_leads([LeadSnapshot(email=email, stage="Trial",
                                                previous_stage="MQL")])[0].ok
    assert hub.state.count(UPSERT) - before == 1
    assert stored(hub, email)["lifecyclestage"] == "trial"
    # Trial -> MQL is backward: cleared first, then written.
    assert connector.upsert_leads([LeadSnapshot(email=email, stage="MQL",
                                                previous_stage="Trial")])[0].ok
    assert hub.state.count(UPSERT) - before == 3
    assert stored(hub, email)["lifecyclestage"] == "marketingqualifiedlead"
    assert hub.state.count("GET /crm/v3/properties/{object_type}/{property_name}") <= 1


def test_a_207_fails_only_the_refused_records(provisioned: Running) -> None:
    hub = HubSpot(access_token=provisioned.token, host=provisioned.url).crm.contacts.batch_api
    answer = hub.upsert(UpsertBatch(inputs=[
        UpsertInput(id="a@example.com", id_property="email", object_write_trace_id="0",
                    properties={"lifecyclestage": "lead"}),
        UpsertInput(id="b@example.com", id_property="email", object_write_trace_id="1",
                    properties={"lifecyclestage": "nonsense"})]))
    assert [r.object_write_trace_id for r in answer.results] == ["0"]
    assert answer.errors[0].context["objectWriteTraceId"] == ["1"]

    connector = connector_for(provisioned)
    connector.stage_fields["Odd"] = {"lifecyclestage": "nonsense"}
    leads = [LeadSnapshot(email=f"l{i}@example.com", stage="Odd" if i == 2 else "MQL")
             for i in range(5)]
    before = provisioned.state.count(UPSERT)
    results = connector.upsert_leads(leads)

    assert [r.ok for r in results] == [True, True, False, True, True]
    assert results[2].vendor_code == "INVALID_OPTION" and not results[2].retryable
    assert provisioned.state.count(UPSERT) - before == 1  # no bisecting: HubSpot said who


def test_a_merged_away_address_maps_to_the_survivor(provisioned: Running) -> None:
    connector = connector_for(provisioned)
    first = connector.upsert_leads([LeadSnapshot(email="ada@acme.io", stage="MQL"),
                                    LeadSnapshot(email="ada.l@acme.io", stage="MQL")])
    HubSpot(access_token=provisioned.token, host=provisioned.url).crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=first[0].record_id,
                         object_id_to_merge=first[1].record_id))

    # HubSpot answers for ada.l@ with the survivor, whose email is ada@.
    again = connector.upsert_leads([LeadSnapshot(email="ada.l@acme.io", stage="SQL")])

    assert again[0].ok and again[0].record_id == first[0].record_id
    assert stored(provisioned, "ada@acme.io")["lead_stage"] == "SQL"
