"""Fit grade, ICP gate and rule conditions (issue 19): what a playbook's `grades:`, `icp:` and a
transition's `if:` say about one lead. Pure, so each rule is unit-tested without Temporal.

A lead's values for conditions are its fields plus what leadflow derives: `fit_grade` (A-D),
`icp` (pass, fail, unknown), `source` and `email_type`. Values compare case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from config.playbook import Conditions, IcpRule, Playbook
from lifecycle.scoring import total_score
from lifecycle.state import LeadState

GRADES = ("A", "B", "C", "D")
ICP_VALUES = ("pass", "fail", "unknown")
# Names a condition may use beside the lead's own fields.
DERIVED_VALUES = {"fit_grade": GRADES, "icp": ICP_VALUES, "source": (), "email_type": ("work", "personal")}
# Lead attributes leadflow knows by name (routing, vendor properties, stock playbooks' fields); a
# playbook declares any other field its conditions read under `fields:`.
STANDARD_FIELDS = frozenset({
    "company_size", "industry", "region", "country", "state", "city", "postal_code", "role",
    "product_interest", "company_domain", "firstname", "lastname", "company", "jobtitle", "phone",
    "website", "campaign", "utm_campaign", "utm_source", "use_case", "timeline", "stakeholders",
})


def fit_score(pb: Playbook, fields: Mapping[str, str], now: datetime) -> int:
    """Fit points only (capped, never decaying): what a grade's thresholds read."""
    return total_score(pb.scoring, dict(fields), [], now, ("fit",))


def fit_grade(pb: Playbook, state: LeadState, now: datetime) -> str | None:
    """The first grade rule that holds, else the best threshold the fit score reaches, else D;
    None when the playbook has no `grades:`."""
    if pb.grades is None:
        return None
    values = lead_values(state)
    for rule in pb.grades.rules:
        if conditions_hold(rule.if_, values):
            return rule.grade
    score = fit_score(pb, state.fields, now)
    for grade in ("A", "B", "C"):
        threshold = pb.grades.thresholds.get(grade)  # type: ignore[call-overload]
        if threshold is not None and score >= threshold:
            return grade
    return "D"


def icp_status(pb: Playbook, fields: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """(pass | fail | unknown, the reasons it is not a pass); (None, []) without `icp:`."""
    if pb.icp is None:
        return None, []
    failed, missing = [], []
    for rule in pb.icp.rules:
        value = (fields.get(rule.attribute) or "").strip()
        if not value:
            missing.append(f"{rule.attribute} unknown")
        elif not _holds(rule, value):
            failed.append(f"{rule.attribute} = {value} ({_wanted(rule)})")
    if failed:
        return "fail", failed
    return ("unknown", missing) if missing else ("pass", [])


def qualify(pb: Playbook, state: LeadState, now: datetime) -> None:
    """Brings the lead's fit grade and ICP status up to date with its fields (in place)."""
    state.icp = icp_status(pb, state.fields)[0]
    state.fit_grade = fit_grade(pb, state, now)


def lead_values(state: LeadState) -> dict[str, str]:
    values = dict(state.fields)
    for name, value in (("fit_grade", state.fit_grade), ("icp", state.icp), ("source", state.source)):
        if value is not None:
            values[name] = value
    return values


def conditions_hold(conditions: Conditions, values: Mapping[str, str]) -> bool:
    """Every named value is one of its allowed values (a missing value matches none)."""
    return all((values.get(name) or "").strip().lower() in {a.lower() for a in allowed}
               for name, allowed in conditions.items())


def gate_blocks(pb: Playbook, state: LeadState, target: str) -> bool:
    """A lead failing the ICP cannot enter a gated stage (unknown data does not fail it)."""
    return pb.icp is not None and target in pb.icp.gate and state.icp == "fail"


def gate_refusal(pb: Playbook, state: LeadState, verb: str, target: str) -> str:
    reasons = icp_status(pb, state.fields)[1]
    return f"cannot {verb}: the lead fails the ICP gate of {target!r} ({'; '.join(reasons)})"


def _holds(rule: IcpRule, value: str) -> bool:
    if rule.equals_any and value.lower() not in {v.lower() for v in rule.equals_any}:
        return False
    if rule.at_least is None and rule.at_most is None:
        return True
    try:
        number = float(value)
    except ValueError:
        return False
    return (rule.at_least is None or number >= rule.at_least) and (
        rule.at_most is None or number <= rule.at_most)


def _wanted(rule: IcpRule) -> str:
    parts = []
    if rule.equals_any:
        parts.append(f"wanted {', '.join(rule.equals_any)}")
    if rule.at_least is not None:
        parts.append(f"at least {rule.at_least:g}")
    if rule.at_most is not None:
        parts.append(f"at most {rule.at_most:g}")
    return "; ".join(parts)
