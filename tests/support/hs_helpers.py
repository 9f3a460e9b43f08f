"""Shared pieces of the HubSpot tests (a module with a unique name, importable from tests)."""

from __future__ import annotations

from connectors.hubspot import HubSpotConnector
from emulators.hubspot import Running

STAGE_FIELDS = {
    "New Lead": {"lifecyclestage": "lead", "hs_lead_status": "NEW"},
    "MQL": {"lifecyclestage": "marketingqualifiedlead", "hs_lead_status": "OPEN"},
    "SQL": {"lifecyclestage": "salesqualifiedlead", "hs_lead_status": "IN_PROGRESS"},
    "Opportunity Created": {"lifecyclestage": "opportunity", "hs_lead_status": "OPEN_DEAL"},
    "Nurture": {"lifecyclestage": "lead", "hs_lead_status": "BAD_TIMING"},
    "Disqualified": {"lifecyclestage": "other", "hs_lead_status": "UNQUALIFIED"},
}
UPSERT = "POST /crm/v3/objects/contacts/batch/upsert"


def connector_for(hub: Running, **options: object) -> HubSpotConnector:
    return HubSpotConnector(access_token=hub.token, base_url=hub.url,
                            stage_fields=STAGE_FIELDS, **options)  # type: ignore[arg-type]


def stored(hub: Running, email: str) -> dict[str, str]:
    """The properties the emulator holds for a contact (which must exist)."""
    record = hub.state.contact(email)
    assert record is not None, f"no contact {email} in the emulator"
    return record.properties
