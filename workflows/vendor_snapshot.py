"""What a lead looks like to one vendor, and a fingerprint to skip writes that change nothing."""

from __future__ import annotations

import hashlib

from connectors.base import LeadSnapshot
from lifecycle.state import LeadState

# Contact attributes copied to the CRMs as they are (others stay in leadflow's state).
SYNCED_PROPERTIES = frozenset({"firstname", "lastname", "company", "phone", "jobtitle", "website"})


def snapshot(s: LeadState, vendor: str, previous_stage: str | None) -> LeadSnapshot:
    return LeadSnapshot(
        email=s.email, stage=s.stage, previous_stage=previous_stage, cause=s.history[-1].cause,
        score=s.score, owner_id=owner_id(s, vendor), disqualification_reason=s.disqualification_reason,
        follow_up_date=s.follow_up_date,
        properties={k: v for k, v in s.fields.items() if k in SYNCED_PROPERTIES},
    )


def owner_id(s: LeadState, vendor: str) -> str | None:
    """A routed lead's owner by their id in this vendor; otherwise the owner as it was set."""
    return s.owner_ids.get(vendor) if s.team is not None else s.owner


def fingerprint(lead: LeadSnapshot) -> str:
    """Equal for snapshots that would write the same fields (the previous stage aside)."""
    payload = lead.model_dump_json(exclude={"previous_stage", "cause"})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
