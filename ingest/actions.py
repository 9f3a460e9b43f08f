"""What a delivery asks of lead workflows, once translated: signals, merges, deletions."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.models import Skipped
from lifecycle.events import LeadEvent, normalize_email


@dataclass(frozen=True)
class Signal:
    """A fact for one lead: signal-with-start, so a new lead starts on its first event."""

    email: str
    event: LeadEvent
    pointer: str = "#"  # where in the request it came from, for a refusal that names it


@dataclass(frozen=True)
class Merge:
    """The CRM merged `merged_email` into `survivor_email`: one timeline continues."""

    merged_email: str
    survivor_email: str
    actor: str


@dataclass(frozen=True)
class Delete:
    email: str
    reason: str
    actor: str


Action = Signal | Merge | Delete


def lead_of(action: Action) -> str:
    """The lead whose workflow receives the action; its actions are delivered in order."""
    return normalize_email(action.merged_email if isinstance(action, Merge) else action.email)


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, ref: str, reason: str) -> None:
        self.skipped.append(Skipped(ref=ref, reason=reason))
