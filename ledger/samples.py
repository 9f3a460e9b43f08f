"""Leads to simulate, read back from ledger facts (`leadflow playbook simulate --from-ledger`).

The ledger keeps each event's id, kind, time, actor and the reason of a disqualification or
loss, but neither event properties nor lead fields: a lead rebuilt from it scores on behaviour
only, and a command that moved it into a stage with required fields is given those fields as
"(ledger)" (it did move, so they were known). Backfilled (imported) leads are left out: their
history before the import was never seen. For scoring changes, simulate a JSONL sample exported
with properties and fields instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from config.playbook import Playbook
from ledger import facts as k
from ledger.facts import Fact
from lifecycle.events import TIMER_KINDS, EventKind, LeadEvent
from lifecycle.simulate import SampleLead

FROM_LEDGER = "(ledger)"


def samples_from_facts(facts: list[Fact], playbook_of: Callable[[str], Playbook | None]) -> list[SampleLead]:
    by_lead: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_lead[fact.lead_id].append(fact)
    samples = []
    for lead_facts in by_lead.values():
        lead_facts.sort(key=lambda f: (f.seq, f.idx))
        created = next((f for f in lead_facts
                        if f.kind == k.STAGE and f.cause in ("created", "imported")), None)
        if created is None or created.imported:
            continue
        samples.append(SampleLead(email=created.email, playbook=created.playbook, source=created.channel,
                                  created_at=created.at, events=_events(lead_facts, playbook_of)))
    return samples


def _events(facts: list[Fact], playbook_of: Callable[[str], Playbook | None]) -> list[LeadEvent]:
    events: dict[str, LeadEvent] = {}
    for fact in facts:
        if not fact.event_id or not fact.event_kind or fact.event_id == "created":
            continue
        kind = EventKind(fact.event_kind)
        if kind in TIMER_KINDS:
            continue
        event = events.setdefault(fact.event_id, LeadEvent(
            event_id=fact.event_id, kind=kind, occurred_at=fact.at, actor=fact.actor or ""))
        if fact.kind == k.STAGE and fact.to_stage:
            if fact.cause in k.OUTCOME_CAUSES and fact.reason:
                event.properties["reason"] = fact.reason
            pb = playbook_of(fact.playbook)
            stage = next((s for s in pb.stages if s.name == fact.to_stage), None) if pb else None
            for name in stage.required_fields if stage else []:
                event.properties.setdefault(name, FROM_LEDGER)
    return list(events.values())
