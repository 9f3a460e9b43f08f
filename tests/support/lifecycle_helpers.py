"""Small builders for decision-engine tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from config.playbook import Playbook
from lifecycle.engine import Decision, decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.state import LeadState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
_ids = itertools.count(1)


def event(kind: str, at: datetime, event_id: str | None = None, **props: str) -> LeadEvent:
    return LeadEvent(event_id=event_id or f"e{next(_ids)}", kind=EventKind(kind),
                     occurred_at=at, properties=props)


class Lead:
    """Drives one lead through `decide`, advancing a clock, keeping the last decision."""

    def __init__(self, pb: Playbook, email: str = "ada@acme.io", **fields: str) -> None:
        self.pb, self.now = pb, T0
        self.last: Decision = new_lead(pb, email, T0, fields)
        self.state: LeadState = self.last.state

    def send(self, kind: str, after: timedelta = timedelta(minutes=5), event_id: str | None = None,
             **props: str) -> Decision:
        self.now += after
        self.last = decide(self.pb, self.state, event(kind, self.now, event_id, **props), self.now)
        self.state = self.last.state
        return self.last

    def fire(self, kind: str, at: datetime) -> Decision:
        self.now = at
        return self.send(kind, after=timedelta(0))

    @property
    def stages(self) -> list[str]:
        return [c.to_stage for c in self.state.history]

    def effect_types(self) -> list[str]:
        return [e.type for e in self.last.effects]
