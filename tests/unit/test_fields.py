"""A lead's fields stay bounded however many property names its events invent (issue 14): the
playbook's own fields are always kept, others up to a count and a size (lifecycle.fields)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lifecycle import routing
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.fields import MAX_OTHER_CHARS, MAX_OTHER_FIELDS, keep, known_fields
from lifecycle.qualification import DERIVED_VALUES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def visit(**props: str) -> LeadEvent:
    return LeadEvent(event_id=uuid.uuid4().hex, kind=EventKind.PRICING_VISIT, occurred_at=T0,
                     properties=props)


def test_ever_new_property_names_stop_growing_the_lead_but_its_playbook_fields_still_land(demo_led):
    state = new_lead(demo_led, "ada@acme.io", T0).state
    now = T0
    for i in range(300):  # a tracker that names a new property on every event
        now += timedelta(minutes=1)
        state = decide(demo_led, state, visit(**{f"track_{i}": "x" * 20}), now).state
    others = [k for k in state.fields if k not in known_fields(demo_led)]
    assert len(others) == MAX_OTHER_FIELDS and "track_0" in others and "track_299" not in others
    assert state.dropped_fields == 300 - MAX_OTHER_FIELDS
    later = decide(demo_led, state, visit(company_size="500", use_case="forecasting",
                                          track_0="updated"), now + timedelta(minutes=1)).state
    assert later.fields["company_size"] == "500" and later.fields["use_case"] == "forecasting"
    assert later.fields["track_0"] == "updated" and later.dropped_fields == state.dropped_fields


def test_other_fields_are_bounded_in_size_too(demo_led):
    fields: dict[str, str] = {}
    dropped = keep(demo_led, fields, {"notes": "n" * (MAX_OTHER_CHARS - 100), "more": "m" * 200})
    assert dropped == 1 and "notes" in fields and "more" not in fields
    assert keep(demo_led, fields, {"notes": "n" * (MAX_OTHER_CHARS + 1)}) == 1  # too big: old kept
    assert len(fields["notes"]) == MAX_OTHER_CHARS - 100
    assert keep(demo_led, fields, {"notes": "short", "more": "m" * 200}) == 0


def test_a_replayed_older_run_keeps_every_name_as_it_did(demo_led):
    state = new_lead(demo_led, "ada@acme.io", T0).state
    props = {f"p{i}": "v" for i in range(MAX_OTHER_FIELDS + 10)}
    old = decide(demo_led, state, visit(**props), T0, bounded_fields=False).state
    assert all(k in old.fields for k in props) and old.dropped_fields == 0


def test_every_field_a_playbook_scores_requires_or_routes_on_is_known(demo_led, trial_led, high_touch):
    # The fit grade is derived (lifecycle.qualification), put beside the fields for routing.
    routed = set(re.findall(r'fields\.get\("(\w+)"\)', Path(routing.__file__).read_text())) \
        - set(DERIVED_VALUES)
    assert routed
    for pb in (demo_led, trial_led, high_touch):
        known = known_fields(pb)
        assert routed <= known, routed - known
        assert {rule.attribute for rule in pb.scoring.fit} <= known
        assert {f for s in pb.stages for f in s.required_fields} <= known
