"""POST /v1/webhooks/salesforce: Lead changes from the callout in docs/salesforce-flow.md.

The stage is read by lifecycle.crm_stage, as reconcile reads the same record: `Lead_Stage__c`
(leadflow's own stage name) while `Status` agrees with it; when a rep changed `Status` alone,
the stage comes from `Status` through the playbook's mapping, with the interpreter's one rule
for a Status several stages write. A conversion lands the same way (Status becomes the
converted value). A merge names the surviving lead. Lead fields the playbook's `fields:` reads
from Salesforce (NumberOfEmployees, Industry, ...) may ride along on the same lead; they reach
the lead as one `crm_fields_changed` fact, whose rules (lifecycle.field_sync) decide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.playbook import Playbook
from config.vendors import Vendor
from connectors.stage_fields import record_fields
from ingest.actions import Delete, Forget, Merge, Plan, Signal
from ingest.models import SalesforceCallout, SalesforceLeadChange
from ingest.problems import invalid
from ingest.sources.common import batch_of, stable_id, validate
from lifecycle.crm_stage import crm_stage, is_stage
from lifecycle.events import EventKind, LeadEvent
from lifecycle.field_sync import lead_values
from lifecycle.reasons import reason_in_crm

MAX_LEADS = 200  # a trigger's batch


def plan(pb: Playbook, data: Any) -> Plan:
    batch_of(data, "leads", "leads", limit=MAX_LEADS)
    callout = validate(SalesforceCallout, data)
    out, errors = Plan(), []
    for i, lead in enumerate(callout.leads):
        actor = lead.ChangedBy or "salesforce"
        if lead.MasterRecordId and lead.MasterRecordEmail:
            out.actions.append(Merge(lead.Email, lead.MasterRecordEmail, actor))
        elif lead.IsDeleted and lead.ShouldForget:
            out.actions.append(Forget(lead.Email, "GDPR deletion in Salesforce", actor, Vendor.SALESFORCE))
        elif lead.IsDeleted:
            out.actions.append(Delete(lead.Email, "deleted in Salesforce", actor))
        elif lead.Lead_Stage__c and not is_stage(pb, lead.Lead_Stage__c):
            errors.append({"pointer": f"#/leads/{i}/Lead_Stage__c",
                           "detail": f"unknown stage {lead.Lead_Stage__c!r} in playbook {pb.name}"})
        else:
            values = lead_values(pb, Vendor.SALESFORCE, lead.model_extra or {})
            if values:
                out.actions.append(Signal(lead.Email, _fields_event(lead, values, actor), f"#/leads/{i}"))
            shown = crm_stage(pb, Vendor.SALESFORCE, record_fields(
                Vendor.SALESFORCE, lead.Status, {"Lead_Stage__c": lead.Lead_Stage__c}))
            if shown.stage is not None:
                out.actions.append(Signal(lead.Email, _event(pb, lead, shown.stage, actor),
                                          f"#/leads/{i}"))
            elif not values:  # fields alone need no stage
                out.skip(lead.Id, shown.why)
    if errors:
        raise invalid(errors)
    return out


def _event(pb: Playbook, lead: SalesforceLeadChange, stage: str, actor: str) -> LeadEvent:
    props = {"system": Vendor.SALESFORCE.value, "stage": stage}
    reason = reason_in_crm(pb, Vendor.SALESFORCE, stage, {
        "Disqualification_Reason__c": lead.Disqualification_Reason__c,
        "Loss_Reason__c": lead.Loss_Reason__c})
    if reason:
        props["reason"] = reason
    if lead.IsConverted and lead.ConvertedContactId:
        props["salesforce_contact_id"] = lead.ConvertedContactId
    stamp = lead.SystemModstamp
    return LeadEvent(
        event_id=stable_id("salesforce", lead.Id, stamp.isoformat() if stamp else "", lead.Status,
                           lead.Lead_Stage__c, lead.IsConverted, *([reason] if reason else [])),
        kind=EventKind.CRM_STAGE_CHANGED, name="salesforce.lead.changed",
        occurred_at=stamp or datetime.now(UTC), actor=actor, properties=props)


def _fields_event(lead: SalesforceLeadChange, values: dict[str, str], actor: str) -> LeadEvent:
    stamp = lead.SystemModstamp
    return LeadEvent(
        event_id=stable_id("salesforce", lead.Id, stamp.isoformat() if stamp else "", "fields",
                           *sorted(values.items())),
        kind=EventKind.CRM_FIELDS_CHANGED, name="salesforce.lead.fields", actor=actor,
        occurred_at=stamp or datetime.now(UTC), properties={"system": Vendor.SALESFORCE.value, **values})
