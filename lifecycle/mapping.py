"""Incoming event names (from products, Segment, forms) -> lifecycle event kinds."""

from __future__ import annotations

from config.playbook import Playbook
from lifecycle.events import TIMER_KINDS, EventKind


def to_kind(pb: Playbook, name: str) -> EventKind:
    """The playbook's mapping first, then a kind named directly; anything else is a plain touch."""
    if name in pb.event_map:
        return pb.event_map[name]
    try:
        kind = EventKind(name)
    except ValueError:
        return EventKind.OTHER
    return EventKind.OTHER if kind in TIMER_KINDS else kind
