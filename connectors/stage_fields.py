"""Where each CRM keeps a lead's stage, normalised for lifecycle.crm_stage.

leadflow writes its own stage name next to the CRM's native fields (HubSpot `lead_stage` beside
`lifecyclestage` and `hs_lead_status`; Salesforce `Lead_Stage__c` beside `Status`). This module
is the one place that knows those names; webhooks, backfill and reconcile all read a record
through it, so they all see the same stage.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.playbook import Playbook
from config.vendors import Vendor
from lifecycle.crm_stage import CrmFields, crm_stage

# The field each CRM keeps leadflow's own stage name in.
WRITTEN_FIELD: dict[str, str] = {Vendor.HUBSPOT: "lead_stage", Vendor.SALESFORCE: "Lead_Stage__c"}
# Each CRM's native stage fields, most significant first, as the playbook's field mapping names them.
NATIVE_FIELDS: dict[str, tuple[str, ...]] = {Vendor.HUBSPOT: ("lifecyclestage", "hs_lead_status"),
                                             Vendor.SALESFORCE: ("Status",)}


def record_fields(system: str, stage_value: str | None,
                  properties: Mapping[str, str | None]) -> CrmFields:
    """A whole record a connector read back (ChangedRecord: the primary field in `stage_value`)."""
    primary, *others = NATIVE_FIELDS[system]
    native = {primary: stage_value or properties.get(primary)} | {f: properties.get(f) for f in others}
    return CrmFields(native=native, written=properties.get(WRITTEN_FIELD[system]))


def changed_field(system: str, name: str, value: str) -> CrmFields | None:
    """One field a webhook reports changed; None when it does not carry the lead's stage."""
    if name == WRITTEN_FIELD[system]:
        return CrmFields(written=value, partial=True)
    if name == NATIVE_FIELDS[system][0]:  # the others only refine it
        return CrmFields(native={name: value}, partial=True)
    return None


def stage_in_crm(pb: Playbook, system: str, stage_value: str | None,
                 properties: Mapping[str, str | None]) -> str | None:
    """The playbook stage a record a connector read back shows, or None."""
    return crm_stage(pb, system, record_fields(system, stage_value, properties)).stage
