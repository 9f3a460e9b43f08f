"""The stock playbooks score the intake field `email_type` (issue 13 item 3): a business address
earns fit points, a personal one (gmail.com, ...) none or fewer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.playbook_loader import stock_playbook
from lifecycle.engine import new_lead
from lifecycle.scoring import fit_items

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("playbook", "business", "personal"), [
    ("demo_led", 5, -5),  # marketing qualifies by score: a personal address counts against it
    ("trial_led", 5, 0),  # product-led sign-ups often start on a personal address: no penalty
    ("high_touch", 10, -10),  # enterprise buyers write from their company
])
def test_a_business_email_earns_fit_points_and_a_personal_one_does_not(playbook, business, personal):
    pb = stock_playbook(playbook)
    work = new_lead(pb, "ada@acme.io", T0).state
    home = new_lead(pb, "ada.lovelace@gmail.com", T0).state
    assert (work.fields["email_type"], home.fields["email_type"]) == ("business", "personal")
    assert (work.score, home.score) == (business, personal)
    reasons = {i.reason: i.points for i in fit_items(pb.scoring, work.fields, T0)}
    assert reasons == {"email_type = business": business}
