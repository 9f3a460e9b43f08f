"""POST /v1/webhooks/hubspot: contact events from a HubSpot app's webhook subscriptions.

HubSpot names contacts by objectId, so the caller resolves emails first (`lookups`, then
`plan` with the answers). A person's stage change arrives as a propertyChange of
`lead_stage` (leadflow's own stage name) or of `lifecyclestage`, read by lifecycle.crm_stage
as reconcile reads a whole contact (a value several stages write names no stage here, since
the event does not say what leadflow wrote). A rep's disqualification or loss reason
(`lead_disqualification_reason`, `lead_loss_reason`) arrives as its own propertyChange: it is
delivered after the batch's stage changes, so it lands on the lead's new stage. `eventId` alone
is not unique, so each event's id is a hash of what identifies the change. A propertyChange of a
property the playbook's `fields:` reads from HubSpot (a rep correcting the industry) becomes a
`crm_fields_changed` fact, a cleared value included; the field's rule decides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from config.playbook import Playbook
from config.vendors import Vendor
from connectors.stage_fields import changed_field
from ingest.actions import Delete, Forget, Merge, Plan, Signal
from ingest.models import HubSpotEvent
from ingest.problems import Problem
from ingest.sources.common import batch_of, stable_id, validate
from lifecycle.crm_stage import crm_stage, is_stage
from lifecycle.events import EventKind, LeadEvent
from lifecycle.field_sync import lead_values
from lifecycle.reasons import REASON_FIELDS

REASON_PROPERTIES = frozenset(REASON_FIELDS[Vendor.HUBSPOT].values())
# Contacts created through the API are most likely leadflow's own upserts.
API_SOURCES = frozenset({"INTEGRATION", "API"})
# A GDPR deletion removes the contact for good, archive included: no lookup will ever answer,
# so its email comes from the record ids leadflow kept when it synced the contact.
PRIVACY_DELETION = "contact.privacyDeletion"
DELETIONS = {"contact.deletion": "deleted in HubSpot", PRIVACY_DELETION: "GDPR deletion in HubSpot"}

# (objectId, archived) -> the contact's email, or None when HubSpot has no such contact.
Emails = Callable[[int, bool], str | None]


def parse(data: Any) -> list[HubSpotEvent]:
    if not isinstance(data, list) or not data:
        raise Problem(422, "invalid-fields", "expected a JSON array of HubSpot webhook events")
    batch_of(data, None, "events")
    return [validate(HubSpotEvent, item, f"#/{i}") for i, item in enumerate(data)]


def lookups(events: list[HubSpotEvent]) -> set[tuple[int, bool]]:
    """The contacts whose emails the plan needs: deleted and merged-away ones are archived."""
    wanted: set[tuple[int, bool]] = set()
    for ev in events:
        if ev.subscriptionType == "contact.merge":
            wanted.add((ev.primaryObjectId or ev.objectId, False))
            wanted.update((merged, True) for merged in ev.mergedObjectIds)
        elif ev.subscriptionType in DELETIONS:
            wanted.add((ev.objectId, True))
        elif ev.subscriptionType in ("contact.propertyChange", "contact.creation"):
            wanted.add((ev.objectId, False))
    return wanted


def event_id(ev: HubSpotEvent) -> str:
    return stable_id("hubspot", ev.eventId, ev.occurredAt, ev.objectId, ev.subscriptionType,
                     ev.propertyName, ev.propertyValue)


def plan(pb: Playbook, events: list[HubSpotEvent], emails: Emails) -> Plan:
    out = Plan()
    reasons_last = sorted(events, key=lambda ev: ev.propertyName in REASON_PROPERTIES)
    for ev in reasons_last:
        ref = f"{ev.subscriptionType}:{ev.eventId}"
        actor = f"hubspot:{ev.sourceId or ev.changeSource or 'unknown'}"
        if ev.subscriptionType == "contact.merge":
            _merge(out, ev, emails, ref, actor)
            continue
        archived = ev.subscriptionType in DELETIONS
        email = emails(ev.objectId, archived)
        if email is None:
            out.skip(ref, f"HubSpot has no contact {ev.objectId} with an email")
        elif ev.subscriptionType == PRIVACY_DELETION:
            out.actions.append(Forget(email, DELETIONS[ev.subscriptionType], actor, Vendor.HUBSPOT))
        elif archived:
            out.actions.append(Delete(email, DELETIONS[ev.subscriptionType], actor))
        elif ev.subscriptionType == "contact.propertyChange":
            _stage_change(out, pb, ev, email, ref, actor)
        elif ev.subscriptionType == "contact.creation":
            if ev.changeSource in API_SOURCES:
                out.skip(ref, "created through the API (leadflow's own sync writes contacts)")
            else:
                out.actions.append(Signal(email, _event(ev, EventKind.OTHER, actor, {},
                                                         "HubSpot Contact Created")))
        else:
            out.skip(ref, f"{ev.subscriptionType} is not a subscription leadflow acts on")
    return out


def _stage_change(out: Plan, pb: Playbook, ev: HubSpotEvent, email: str, ref: str,
                  actor: str) -> None:
    value = ev.propertyValue or ""
    values = lead_values(pb, Vendor.HUBSPOT, {ev.propertyName or "": value})
    if values:
        out.actions.append(Signal(email, _event(ev, EventKind.CRM_FIELDS_CHANGED, actor,
                                                {"system": Vendor.HUBSPOT.value, **values},
                                                "hubspot.contact.fields")))
        return
    if not value:
        out.skip(ref, f"{ev.propertyName} was cleared")
        return
    if ev.propertyName in REASON_PROPERTIES:
        out.actions.append(Signal(email, _event(ev, EventKind.CRM_STAGE_CHANGED, actor,
                                                {"system": Vendor.HUBSPOT.value, "reason": value})))
        return
    fields = changed_field(Vendor.HUBSPOT, ev.propertyName or "", value)
    if fields is None:
        stage, why = None, f"property {ev.propertyName} does not carry the lead's stage"
    elif fields.written is not None and not is_stage(pb, value):
        stage, why = None, f"{value!r} is not a stage of playbook {pb.name}"
    else:
        shown = crm_stage(pb, Vendor.HUBSPOT, fields)
        stage, why = shown.stage, shown.why
    if stage is None:
        out.skip(ref, why)
        return
    out.actions.append(Signal(email, _event(ev, EventKind.CRM_STAGE_CHANGED, actor,
                                            {"system": Vendor.HUBSPOT.value, "stage": stage})))


def _merge(out: Plan, ev: HubSpotEvent, emails: Emails, ref: str, actor: str) -> None:
    survivor = emails(ev.primaryObjectId or ev.objectId, False)
    if survivor is None:
        out.skip(ref, f"HubSpot has no surviving contact {ev.primaryObjectId or ev.objectId}")
        return
    for merged_id in ev.mergedObjectIds:
        merged = emails(merged_id, True)
        if merged is None or merged == survivor:
            out.skip(ref, f"merged contact {merged_id} has no email of its own")
        else:
            out.actions.append(Merge(merged, survivor, actor))


def _event(ev: HubSpotEvent, kind: EventKind, actor: str, props: dict[str, str],
           name: str = "") -> LeadEvent:
    return LeadEvent(event_id=event_id(ev), kind=kind, name=name or ev.subscriptionType,
                     occurred_at=datetime.fromtimestamp(ev.occurredAt / 1000, UTC), actor=actor,
                     properties=props)
