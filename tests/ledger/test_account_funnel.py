"""The report's account funnel on hand-written facts: companies, not leads, worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.playbook_loader import stock_playbook
from ledger.facts import Fact
from ledger.report import ReportFilters, compute_report
from ledger.report_text import render_csv, render_table

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
DEMO = stock_playbook("demo_led")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def facts() -> list[Fact]:
    out: list[Fact] = []

    def move(email: str, at: datetime, to: str, domain: str | None) -> None:
        seq = sum(1 for f in out if f.email == email) + 1
        out.append(Fact(lead_id=f"lead:{email}", seq=seq, idx=0, kind="stage", at=at, email=email,
                        playbook="demo_led", account_domain=domain, stage=to, to_stage=to))

    move("a1@acme.io", h(0), "New Lead", "acme.io")
    move("a1@acme.io", h(1), "MQL", "acme.io")
    move("a1@acme.io", h(5), "SQL", "acme.io")
    move("a2@acme.io", h(2), "MQL", "acme.io")
    move("a2@acme.io", h(6), "SQL", "acme.io")  # the second SQL: Active Evaluation
    move("g1@globex.co.uk", h(3), "MQL", "globex.co.uk")  # an alias of globex.com (demo_led)
    move("g2@sales.globex.com", h(4), "New Lead", "sales.globex.com")  # a sub-domain of it
    move("p@gmail.com", h(1), "MQL", None)  # personal: no account
    move("o@old.io", h(-48), "MQL", "old.io")  # nothing in the period
    return out


def test_the_account_funnel_counts_companies_through_the_account_rules():
    r = compute_report(facts(), ReportFilters(since=h(0), until=h(48)), playbook=DEMO)
    assert r.accounts is not None
    a = r.accounts
    assert (a.accounts, a.active_evaluation, a.demo_completed) == (2, 1, 0)
    rows = {s.stage: (s.reached, s.entered, s.conversion) for s in a.stages}
    assert rows == {"Prospect": (2, 0, None), "Engaged": (2, 2, 1.0),
                    "Active Evaluation": (1, 1, 0.5), "Opportunity": (0, 0, 0.0),
                    "Customer": (0, 0, None)}
    table = render_table(r)
    assert "Accounts: 2 (1 in active evaluation, 0 with a demo completed)" in table
    assert "account_stage,Active Evaluation,,reached,1" in render_csv(r)


def test_the_period_end_cuts_the_account_funnel():
    r = compute_report(facts(), ReportFilters(since=h(0), until=h(5.5)), playbook=DEMO)
    assert r.accounts is not None and r.accounts.active_evaluation == 0
    assert [s.reached for s in r.accounts.stages][:3] == [2, 2, 0]


def test_no_account_funnel_without_a_playbook():
    assert compute_report(facts(), ReportFilters(since=h(0), until=h(48))).accounts is None
