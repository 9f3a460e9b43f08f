"""The funnel report as a terminal table, JSON or CSV."""

from __future__ import annotations

import csv
import io

from ledger.report import Report


def _fmt(value: float | int | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    if pct:
        return f"{value * 100:.1f}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return [title, line(header), line(["-" * w for w in widths]), *map(line, rows), ""]


def render_table(r: Report) -> str:
    f = r.filters
    scope = ", ".join(f"{k}={v}" for k, v in (("playbook", f.playbook), ("channel", f.channel),
                                                ("campaign", f.campaign), ("team", f.team)) if v)
    out = [f"Funnel {f.since:%Y-%m-%d %H:%M} .. {f.until:%Y-%m-%d %H:%M} UTC"
           + (f" ({scope})" if scope else "") + f": {r.leads} leads", ""]
    out += _table("Stages", ["stage", "entered", "imported", "median h", "p90 h", "touches", "per lead"],
                  [[s.stage, str(s.entered), str(s.imported), _fmt(s.median_hours), _fmt(s.p90_hours),
                    str(s.touches), _fmt(s.touches_per_lead)] for s in r.stages])
    out += _table("Conversion", ["from", "to", "leads", "rate"],
                  [[c.from_stage, c.to_stage, str(c.leads), _fmt(c.rate, pct=True)] for c in r.conversions])
    out += _table("SLAs", ["stage", "started", "met", "breached", "left", "open", "met %", "breached %",
                           "1st action median h", "p90 h"],
                  [[s.stage, str(s.started), str(s.met), str(s.breached), str(s.left), str(s.open),
                    _fmt(s.met_rate, True), _fmt(s.breached_rate, True),
                    _fmt(s.first_action_median_hours), _fmt(s.first_action_p90_hours)] for s in r.sla])
    out += _table("Disqualification and loss reasons", ["outcome", "reason", "channel", "leads"],
                  [[x.outcome, x.reason, x.channel, str(x.count)] for x in r.reasons])
    if r.handoffs:
        out += _table("Handoff acceptance", ["channel", "campaign", "asked", "accepted", "rejected",
                                             "overdue", "accepted %"],
                      [[h.channel, h.campaign, str(h.requested), str(h.accepted), str(h.rejected),
                        str(h.overdue), _fmt(h.acceptance_rate, True)] for h in r.handoffs])
        out += _table("Handoff rejection reasons", ["reason", "channel", "campaign", "leads"],
                      [[x.reason, x.channel, x.campaign, str(x.count)] for x in r.rejections])
    if r.accounts is not None:
        a = r.accounts
        out += _table(f"Accounts: {a.accounts} ({a.active_evaluation} in active evaluation, "
                      f"{a.demo_completed} with a demo completed)",
                      ["account stage", "reached", "entered", "conversion"],
                      [[s.stage, str(s.reached), str(s.entered), _fmt(s.conversion, True)]
                       for s in a.stages])
    return "\n".join(out).rstrip() + "\n"


def render_json(r: Report) -> str:
    return r.model_dump_json(indent=2)


def render_csv(r: Report) -> str:
    """Long format, one figure a row: section, stage, to_stage, metric, value."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "stage", "to_stage", "metric", "value"])
    for s in r.stages:
        for metric in ("entered", "imported", "median_hours", "p90_hours", "touches", "touches_per_lead"):
            w.writerow(["stage", s.stage, "", metric, _csv(getattr(s, metric))])
    for c in r.conversions:
        w.writerow(["conversion", c.from_stage, c.to_stage, "leads", c.leads])
        w.writerow(["conversion", c.from_stage, c.to_stage, "rate", c.rate])
    for a in r.sla:
        for metric in ("started", "met", "breached", "left", "open", "met_rate", "breached_rate",
                       "first_action_median_hours", "first_action_p90_hours"):
            w.writerow(["sla", a.stage, "", metric, _csv(getattr(a, metric))])
    for x in r.reasons:
        w.writerow([x.outcome, x.reason, x.channel, "leads", x.count])
    for h in r.handoffs:  # stage column: the channel; to_stage: the campaign
        for metric in ("requested", "accepted", "rejected", "overdue", "acceptance_rate"):
            w.writerow(["handoff", h.channel, h.campaign, metric, _csv(getattr(h, metric))])
    for j in r.rejections:
        w.writerow(["handoff_rejected", j.channel, j.campaign, j.reason, j.count])
    if r.accounts is not None:
        w.writerow(["accounts", "", "", "accounts", r.accounts.accounts])
        w.writerow(["accounts", "", "", "active_evaluation", r.accounts.active_evaluation])
        w.writerow(["accounts", "", "", "demo_completed", r.accounts.demo_completed])
        for s in r.accounts.stages:
            for metric in ("reached", "entered", "conversion"):
                w.writerow(["account_stage", s.stage, "", metric, _csv(getattr(s, metric))])
    return buf.getvalue()


def _csv(value: object) -> object:
    return "" if value is None else value
