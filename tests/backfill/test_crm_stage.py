"""Reading a playbook stage back from a CRM record (pure, no I/O)."""

from __future__ import annotations

from config.playbook_loader import stock_playbook
from connectors.stage_fields import stage_in_crm

PB = stock_playbook("demo_led")


def hubspot(**props: str | None) -> str | None:
    return stage_in_crm(PB, "hubspot", props.get("lifecyclestage"), props)


def test_the_stage_leadflow_wrote_wins_while_the_native_fields_agree():
    assert hubspot(lead_stage="Demo Scheduled", lifecyclestage="salesqualifiedlead",
                   hs_lead_status="CONNECTED") == "Demo Scheduled"


def test_a_person_moving_the_native_fields_is_read_from_them():
    # leadflow wrote New Lead; a rep moved lifecyclestage and lead status to the MQL values
    assert hubspot(lead_stage="New Lead", lifecyclestage="marketingqualifiedlead",
                   hs_lead_status="OPEN") == "MQL"


def test_a_contact_leadflow_never_wrote_maps_by_its_lifecycle_stage():
    assert hubspot(lifecyclestage="lead") == "New Lead"
    assert hubspot(lifecyclestage="lead", hs_lead_status="BAD_TIMING") == "Nurture"
    assert hubspot(lifecyclestage="customer", hs_lead_status="SOMETHING_ELSE") == "Closed Won"
    assert hubspot() is None


def test_salesforce_status_is_read_from_the_stage_value():
    def sf(status: str | None, written: str | None) -> str | None:
        return stage_in_crm(PB, "salesforce", status, {"Lead_Stage__c": written})

    assert sf("Working", "Demo Scheduled") == "Demo Scheduled"
    assert sf("Unqualified", "New Lead") == "Disqualified"
    assert sf("New", None) == "New Lead"
    assert sf(None, "MQL") == "MQL"
