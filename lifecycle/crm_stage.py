"""Which playbook stage a CRM record is in, read back from the fields leadflow maps stages to.

Pure: backfill and reconcile use it on records a connector returned. leadflow writes its own
stage name (`lead_stage` / `Lead_Stage__c`) next to the CRM's native fields; a person working
in the CRM usually moves only the native ones (HubSpot lifecyclestage, Salesforce Status), so
when those no longer match the written stage, the native fields tell what the person meant.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.playbook import Playbook

# The field each CRM keeps leadflow's own stage name in, as ChangedRecord.properties names it.
STAGE_PROPERTY = {"hubspot": "lead_stage", "salesforce": "Lead_Stage__c"}
# Native fields read back for each CRM (the connector puts Salesforce's Status in stage_value).
NATIVE_FIELDS = {"hubspot": ("lifecyclestage", "hs_lead_status"), "salesforce": ("Status",)}


def native_values(system: str, stage_value: str | None,
                  properties: Mapping[str, str | None]) -> dict[str, str]:
    """The CRM's native stage fields of one record, as the playbook's field mapping names them."""
    if system == "salesforce":
        return {"Status": stage_value} if stage_value else {}
    found = {name: properties.get(name) for name in NATIVE_FIELDS.get(system, ())}
    if stage_value and not found.get("lifecyclestage"):
        found["lifecyclestage"] = stage_value
    return {k: v for k, v in found.items() if v}


def _agrees(mapped: Mapping[str, str], native: Mapping[str, str]) -> bool:
    return all(native.get(field) == value for field, value in mapped.items() if field in native)


def stage_in_crm(pb: Playbook, system: str, stage_value: str | None,
                 properties: Mapping[str, str | None]) -> str | None:
    """The playbook stage a record shows, or None when nothing on it names one.

    The stage leadflow wrote wins while the native fields still agree with it; otherwise the
    first stage (in playbook order) whose mapping matches all native fields, then the first
    matching the most significant one (lifecyclestage / Status) alone.
    """
    names = [s.name for s in pb.stages]
    written = properties.get(STAGE_PROPERTY.get(system, ""))
    mapping = pb.field_mapping.get(system, {})  # type: ignore[call-overload]
    native = native_values(system, stage_value, properties)
    if written in names and (not native or _agrees(mapping.get(written, {}), native)):
        return written
    if not native:
        return None
    for name in names:
        mapped = mapping.get(name)
        if mapped and all(native.get(f) == v for f, v in mapped.items() if f in native) \
                and set(native) <= set(mapped):
            return name
    primary = NATIVE_FIELDS[system][0]
    for name in names:
        if native.get(primary) and mapping.get(name, {}).get(primary) == native.get(primary):
            return name
    return written if written in names else None
