"""No event a lead can receive makes `decide` raise (issue 14): an exception there fails the
lead's workflow task on every retry, wedging the lead. Whatever a sender puts in an event's kind,
properties, time or id, the engine accepts it, refuses it, or records a touch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.playbook import Playbook
from config.playbook_loader import stock_playbook
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from lifecycle.state import LeadState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEYS = ["reason", "path", "until", "stage", "system", "use_case", "timeline", "company_size", "industry",
        "role", "source", "campaign", "score", "country", "region", "state", "postal_code", "x"]
VALUES = st.sampled_from(["", "MQL", "SQL", "budget", "not_now", "2026-13-45", "2026-04-01", "-1",
                          "1e309", "nan", "hubspot", "salesforce", "nowhere", "9" * 400, "\x00",
                          "\u202e"]) | st.text(max_size=20)
events = st.builds(
    lambda kind, props, delta, eid: LeadEvent(event_id=eid, kind=kind, occurred_at=T0 + delta,
                                              properties=props),
    st.sampled_from(list(EventKind)), st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
    st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650)),
    st.text(min_size=1, max_size=10))


def decide_in_turn(pb: Playbook, sequence: list[LeadEvent],
                   step: Callable[[LeadState, LeadEvent, datetime], LeadState]) -> None:
    """A new lead takes `sequence`, an event an hour, each through `step`."""
    state = new_lead(pb, "ada@acme.io", T0).state
    now = T0
    for ev in sequence:
        now += timedelta(hours=1)
        state = step(state, ev, now)


@pytest.mark.parametrize("playbook", ["demo_led", "trial_led", "high_touch"])
def test_no_event_sequence_makes_decide_raise(playbook):
    pb = stock_playbook(playbook)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(events, min_size=1, max_size=8))
    def check(sequence: list[LeadEvent]) -> None:
        decide_in_turn(pb, sequence, lambda state, ev, now: decide(pb, state, ev, now).state)

    check()


@pytest.mark.parametrize("playbook", ["demo_led", "trial_led", "high_touch"])
def test_a_decision_never_changes_the_state_it_was_given(playbook):
    """`decide` works on a shallow working copy (a deep copy per event wedged a flooded lead):
    the state it was given, which a refused command or a validator keeps, stays as it was."""
    pb = stock_playbook(playbook)

    def unchanged(state: LeadState, ev: LeadEvent, now: datetime) -> LeadState:
        before = state.model_dump()
        decision = decide(pb, state, ev, now)
        assert state.model_dump() == before, f"{ev.kind} changed the state it was given"
        return decision.state

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(events, min_size=1, max_size=8))
    def check(sequence: list[LeadEvent]) -> None:
        breach = LeadEvent(event_id="breach", kind=EventKind.SLA_BREACHED, occurred_at=T0)
        decide_in_turn(pb, [*sequence, breach], unchanged)

    check()
