"""Incoming event names (from products, Segment, forms) -> lifecycle event kinds."""

from __future__ import annotations

from config.playbook import Playbook
from lifecycle.events import FACT_KINDS, EventKind

# What a product or Segment event may name: no command, no timer, and no CRM stage change
# or field change (only the CRMs' signed webhooks and reconcile report those).
NAMEABLE_KINDS = FACT_KINDS - {EventKind.CRM_STAGE_CHANGED, EventKind.CRM_FIELDS_CHANGED}


def to_kind(pb: Playbook, name: str) -> EventKind:
    """The playbook's mapping first, then a fact kind named directly; anything else (a timer's
    kind, a CRM's stage change, a person's command such as "confirm_sql") is a plain touch."""
    kind = pb.event_map.get(name)
    if kind is None:
        try:
            kind = EventKind(name)
        except ValueError:
            return EventKind.OTHER
    return kind if kind in NAMEABLE_KINDS else EventKind.OTHER
