"""The playbook's `fields:` section: each lead field, its name in every vendor, and who wins.

One table says where a lead field lives in HubSpot (a contact property), Salesforce (a Lead
field) and Segment (an identify trait), and per system its direction, modelled on the sync rules
HubSpot's own Salesforce integration offers per mapped field ("Prefer Salesforce unless blank",
"Always use Salesforce", "Two-way", "Don't sync": knowledge.hubspot.com/salesforce/
map-hubspot-properties-to-salesforce-fields), with leadflow in HubSpot's place:

| direction               | leadflow writes it | a CRM edit                                           |
| leadflow_wins           | yes                | is written over with leadflow's value                |
| crm_wins                | yes                | is adopted, a blank one too                          |
| crm_wins_unless_blank   | yes                | is adopted unless blank (a blank is filled again)    |
| two_way_latest          | yes                | the later change wins (leadflow's or the CRM's)      |
| read_only               | never              | is adopted, a blank one too                          |
| write_only              | yes                | is ignored (not read, not written over)              |

Segment only receives traits, so its direction is always `write_only`. The rules themselves are
pure logic in lifecycle.field_sync. Fields listed in DEFAULT_FIELDS (the contact attributes
leadflow always copied) apply to every playbook; a playbook's own entry for a field replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["leadflow_wins", "crm_wins", "crm_wins_unless_blank", "two_way_latest",
                    "read_only", "write_only"]
SYSTEMS = ("hubspot", "salesforce", "segment")
READ_DIRECTIONS = frozenset({"leadflow_wins", "crm_wins", "crm_wins_unless_blank",
                             "two_way_latest", "read_only"})
# Lead fields leadflow itself keeps (not attributes a person types): written, never read.
DERIVED_FIELDS = frozenset({"nurture_path", "snooze_reason"})
# Vendor fields leadflow writes for the stage, score, owner and reasons: no lead field may take them.
RESERVED: dict[str, frozenset[str]] = {
    "hubspot": frozenset({"email", "lifecyclestage", "hs_lead_status", "hubspot_owner_id",
                          "lead_stage", "lead_score", "lead_disqualification_reason",
                          "lead_loss_reason", "lead_follow_up_date"}),
    "salesforce": frozenset({"Email", "Status", "OwnerId", "Leadflow_Key__c", "Lead_Stage__c",
                             "Lead_Score__c", "Disqualification_Reason__c", "Loss_Reason__c",
                             "Follow_Up_Date__c"}),
    "segment": frozenset({"email", "lead_stage", "lead_score", "lead_disqualification_reason",
                          "lead_loss_reason", "lead_follow_up_date", "owner_id"}),
}


class VendorField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)  # the property, field or trait
    direction: Direction


class LeadField(BaseModel):
    """One lead field across the systems; a system left out neither reads nor writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hubspot: VendorField | None = None
    salesforce: VendorField | None = None
    segment: VendorField | None = None

    def of(self, system: str) -> VendorField | None:
        return getattr(self, system, None) if system in SYSTEMS else None


def _written(hubspot: str, salesforce: str) -> LeadField:
    return LeadField(hubspot=VendorField(name=hubspot, direction="write_only"),
                     salesforce=VendorField(name=salesforce, direction="write_only"),
                     segment=VendorField(name=hubspot, direction="write_only"))


# What leadflow copied before `fields:` existed (HubSpot-style names, Salesforce's Lead fields).
DEFAULT_FIELDS: dict[str, LeadField] = {
    "firstname": _written("firstname", "FirstName"), "lastname": _written("lastname", "LastName"),
    "company": _written("company", "Company"), "phone": _written("phone", "Phone"),
    "jobtitle": _written("jobtitle", "Title"), "website": _written("website", "Website"),
    "industry": _written("industry", "Industry"), "country": _written("country", "Country"),
    "city": _written("city", "City"), "state": _written("state", "State"),
}
LEGACY_FIELDS = frozenset({"firstname", "lastname", "company", "phone", "jobtitle", "website"})


def effective(fields: Mapping[str, LeadField]) -> dict[str, LeadField]:
    """The defaults with the playbook's own entries over them."""
    return {**DEFAULT_FIELDS, **fields}


def check_fields(fields: Mapping[str, LeadField]) -> list[tuple[str, str]]:
    """(field path, reason) for every field mapped twice, onto leadflow's own fields, or in a
    direction its system cannot take."""
    problems: list[tuple[str, str]] = []
    owners: dict[tuple[str, str], str] = {
        (system, rule.name): name for name, spec in DEFAULT_FIELDS.items() if name not in fields
        for system in SYSTEMS if (rule := spec.of(system)) is not None}
    for name, spec in fields.items():
        for system in SYSTEMS:
            rule = spec.of(system)
            if rule is None:
                continue
            path = f"fields.{name}.{system}"
            other = owners.setdefault((system, rule.name), name)
            if other != name:
                problems.append((f"{path}.name", f"{system} field {rule.name!r} is mapped twice "
                                                 f"(to {other!r} and {name!r})"))
            if rule.name in RESERVED[system]:
                problems.append((f"{path}.name", f"{rule.name!r} is leadflow's own {system} field "
                                                 "(stage, score, owner or reasons)"))
            if system == "segment" and rule.direction != "write_only":
                problems.append((f"{path}.direction", "Segment only receives traits; "
                                                      "the direction must be write_only"))
            elif name in DERIVED_FIELDS and rule.direction not in ("leadflow_wins", "write_only"):
                problems.append((f"{path}.direction", f"{name} is leadflow's own; the direction "
                                                      "must be leadflow_wins or write_only"))
    return problems
