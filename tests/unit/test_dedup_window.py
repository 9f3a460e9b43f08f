"""The redelivery window: event ids are remembered for 72 hours, bounded, across merges and
states saved before the window existed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from lifecycle.dedup import MAX_IDS, WINDOW, SeenEvents
from lifecycle.state import LeadState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_id_is_remembered_through_a_day_long_hubspot_retry_and_forgotten_after_the_window():
    seen = SeenEvents().remember("evt-1", T0)
    later = seen.remember("evt-2", T0 + timedelta(hours=34))  # HubSpot's last retry
    assert "evt-1" in later and "evt-2" in later
    after = later.remember("evt-3", T0 + WINDOW + timedelta(seconds=1))
    assert "evt-1" not in after and "evt-2" in after and len(after) == 2


def test_thousands_of_ids_within_the_window_are_all_remembered_up_to_the_cap():
    seen = SeenEvents.of([f"burst-{i}" for i in range(3_000)], T0)
    assert len(seen) == 3_000 and "burst-0" in seen and "burst-2999" in seen
    full = SeenEvents.of([f"flood-{i}" for i in range(MAX_IDS + 5)], T0)
    assert len(full) == MAX_IDS and "flood-4" not in full and "flood-5" in full


def test_a_merge_keeps_each_id_once_at_its_first_sighting():
    a = SeenEvents().remember("shared", T0).remember("a-only", T0 + timedelta(hours=1))
    b = SeenEvents().remember("b-only", T0).remember("shared", T0 + timedelta(hours=2))
    both = a.merged(b, T0 + timedelta(hours=3))
    assert len(both) == 3 and all(e in both for e in ("shared", "a-only", "b-only"))
    # "shared" counts from T0 (its first sighting), so it leaves with the window from then.
    assert "shared" not in both.remember("x", T0 + WINDOW + timedelta(minutes=30))


def test_a_state_saved_with_the_old_id_list_still_drops_those_ids():
    saved = {"email": "ada@acme.io", "playbook": "demo_led", "stage": "MQL",
             "entered_stage_at": T0.isoformat(), "seen_event_ids": ["old-1", "old-2"]}
    state = LeadState.model_validate(saved)
    assert state.has_seen("old-1")
    state.remember("new-1", T0 + timedelta(days=30))  # the saved ids count as seen now
    assert state.has_seen("old-2") and state.has_seen("new-1") and state.seen_event_ids == []


def test_remembering_extends_the_packed_window_exactly_as_packing_it_afresh():
    """Each id appends its own 16 base64 characters (a flood never re-encodes the window), and
    the result is what packing the whole window would give, past the cap and the window too."""
    seen = SeenEvents.of([f"old-{i}" for i in range(MAX_IDS - 2)], T0)
    for i in range(5):
        seen = seen.remember(f"new-{i}", T0 + timedelta(minutes=i))
        assert seen.packed == SeenEvents(packed=seen.packed).packed  # decodes
        assert seen.packed == base64.b64encode(seen._raw()).decode()
    assert len(seen) == MAX_IDS and "old-2" not in seen and "old-3" in seen and "new-4" in seen
    later = seen.remember("late", T0 + WINDOW + timedelta(minutes=2, seconds=1))
    assert later.packed == base64.b64encode(later._raw()).decode()
    assert len(later) == 3 and "new-3" in later and "new-2" not in later
