"""Score decay between events (issue 13 item 7): a lead with no event and no timer wakes when
about a point has decayed, so the CRMs' lead_score and the LeadScore search attribute follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.playbook_loader import stock_playbook
from lifecycle.engine import decay, new_lead
from lifecycle.scoring import MAX_DECAY_WAIT, MIN_DECAY_WAIT, next_decay_at
from lifecycle.state import ScoreItem

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def intent(points: int, at: datetime = T0) -> ScoreItem:
    return ScoreItem(category="intent", points=points, reason="pricing_visit", at=at)


def test_a_wake_up_comes_when_about_a_point_has_decayed(demo_led):
    # 15 points halving every 30 days lose their first point after 30d * log2(15/14), ~3 days.
    due = next_decay_at(demo_led.scoring, [intent(15)], T0)
    assert due is not None and abs((due - T0) - timedelta(days=2.986)) < timedelta(hours=1)
    lead = new_lead(demo_led, "ada@acme.io", T0).state.model_copy(
        update={"score_items": [intent(15)]})
    lead.score = 15 + (lead.score or 0)
    lower = decay(demo_led, lead, due)
    assert lower is not None and lower.state.score == lead.score - 1
    assert decay(demo_led, lower.state, due + timedelta(minutes=1)) is None  # no change: nothing


def test_wake_ups_are_bounded_and_stop_when_nothing_is_left_to_decay(demo_led):
    fast = demo_led.scoring.model_copy(update={"half_life": timedelta(days=1)})
    assert next_decay_at(fast, [intent(40)], T0) == T0 + MIN_DECAY_WAIT  # a point in 53 minutes
    # 1.05 points left: the last point goes in months, yet the lead looks again within a week.
    slow = next_decay_at(demo_led.scoring, [intent(2, T0 - timedelta(days=28))], T0)
    assert slow == T0 + MAX_DECAY_WAIT
    # 0.56 points left: the rounded score drops when under half a point, in about five days.
    last = next_decay_at(demo_led.scoring, [intent(1, T0 - timedelta(days=25))], T0)
    assert last is not None and abs((last - T0) - timedelta(days=4.98)) < timedelta(hours=1)
    assert next_decay_at(demo_led.scoring, [intent(1, T0 - timedelta(days=40))], T0) is None
    assert next_decay_at(stock_playbook("high_touch").scoring, [intent(15)], T0) is None  # no half-life
