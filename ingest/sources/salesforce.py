"""POST /v1/webhooks/salesforce: Lead changes from the callout in docs/salesforce-flow.md.

The stage is `Lead_Stage__c` (leadflow's own stage name) while `Status` agrees with it;
when a rep changed `Status` alone, the two disagree and the stage comes from `Status`
through the playbook's mapping (when exactly one stage writes that Status). A conversion
lands the same way (Status becomes the converted value). A merge names the surviving lead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.playbook import Playbook
from ingest.actions import Delete, Merge, Plan, Signal
from ingest.models import SalesforceCallout, SalesforceLeadChange
from ingest.problems import invalid
from ingest.sources.common import batch_of, stable_id, validate
from ingest.stages import from_field, is_stage, mapped_value
from lifecycle.events import EventKind, LeadEvent
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
        elif lead.IsDeleted:
            out.actions.append(Delete(lead.Email, "deleted in Salesforce", actor))
        elif lead.Lead_Stage__c and not is_stage(pb, lead.Lead_Stage__c):
            errors.append({"pointer": f"#/leads/{i}/Lead_Stage__c",
                           "detail": f"unknown stage {lead.Lead_Stage__c!r} in playbook {pb.name}"})
        else:
            stage, why = _stage(pb, lead)
            if stage is None:
                out.skip(lead.Id, why)
            else:
                out.actions.append(Signal(lead.Email, _event(pb, lead, stage, actor)))
    if errors:
        raise invalid(errors)
    return out


def _stage(pb: Playbook, lead: SalesforceLeadChange) -> tuple[str | None, str]:
    declared = lead.Lead_Stage__c
    expected = mapped_value(pb, "salesforce", declared, "Status") if declared else None
    if declared and (lead.Status is None or expected in (None, lead.Status)):
        return declared, ""
    if lead.Status:
        return from_field(pb, "salesforce", "Status", lead.Status)
    return None, "neither Lead_Stage__c nor Status is set"


def _event(pb: Playbook, lead: SalesforceLeadChange, stage: str, actor: str) -> LeadEvent:
    props = {"system": "salesforce", "stage": stage}
    reason = reason_in_crm(pb, "salesforce", stage, {
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
