"""What a lead looks like to one vendor, and a fingerprint to skip writes that change nothing."""

from __future__ import annotations

import hashlib

from config.playbook import Playbook, StageKind
from connectors.base import LeadSnapshot
from lifecycle.fields import CONTACT_FIELDS
from lifecycle.reasons import vendor_value
from lifecycle.state import LeadState

# Contact attributes copied to the vendors as they are (others stay in leadflow's state).
LEGACY_PROPERTIES = frozenset({"firstname", "lastname", "company", "phone", "jobtitle", "website"})
# Since issue 13 the Salesforce connector's industry and address mappings get their values too
# (these are the contact fields a lead always keeps: lifecycle.fields).
SYNCED_PROPERTIES = LEGACY_PROPERTIES | CONTACT_FIELDS
# Snapshot fields added since fingerprints were first carried across continue-as-new: left out
# of a fingerprint while they hold their default, so an older run's fingerprint still matches.
_NEWER_FIELDS = {"loss_reason": None, "keep_crm_reasons": False}


def snapshot(s: LeadState, vendor: str, previous_stage: str | None,
             pb: Playbook | None = None) -> LeadSnapshot:
    """The lead as `vendor` should show it. Without `pb` (a lead replaying older rules) the
    snapshot is the one those rules wrote: fewer properties, no loss reason, reasons blanked."""
    synced = SYNCED_PROPERTIES if pb is not None else LEGACY_PROPERTIES
    lead = LeadSnapshot(
        email=s.email, stage=s.stage, previous_stage=previous_stage, cause=s.history[-1].cause,
        score=s.score, owner_id=owner_id(s, vendor), disqualification_reason=s.disqualification_reason,
        follow_up_date=s.follow_up_date,
        properties={k: v for k, v in s.fields.items() if k in synced},
    )
    if pb is None:
        return lead
    kind = pb.stage(s.stage).kind
    dq, lost = s.disqualification_reason, s.loss_reason
    return lead.model_copy(update={
        "disqualification_reason": vendor_value(dq) if dq else None,
        "loss_reason": vendor_value(lost) if lost else None,
        "keep_crm_reasons": (kind == StageKind.DISQUALIFIED and not dq)
        or (kind == StageKind.LOST and not lost),
    })


def owner_id(s: LeadState, vendor: str) -> str | None:
    """A routed lead's owner by their id in this vendor; otherwise the owner as it was set."""
    return s.owner_ids.get(vendor) if s.team is not None else s.owner


def fingerprint(lead: LeadSnapshot) -> str:
    """Equal for snapshots that would write the same fields (the previous stage aside)."""
    unset = {name for name, default in _NEWER_FIELDS.items() if getattr(lead, name) == default}
    payload = lead.model_dump_json(exclude={"previous_stage", "cause", *unset})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
