"""demo_led with issue 19's richer rules: the playbook the rules tests tell their story with.

It keeps the stock name (a pinned playbook's worker still answers `lead_config` for it) and adds:
grades A-D over the fit score, an ICP gate on SQL (at least 20 people), a demo request that only
graded A or B leads turn into an MQL (else Nurture), 30 days in MQL without a touch recycling to
Nurture, an AE acceptance of SQL within 4 hours (a rejection goes back to MQL), BANT before In
Evaluation, and grade A leads routed to the enterprise AEs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.playbook import Playbook
from config.playbook_loader import PLAYBOOK_DIR, load_playbook

REJECT_REASONS = ["not_a_fit", "bad_timing", "no_budget", "duplicate"]


def rules_raw() -> dict[str, Any]:
    raw = yaml.safe_load((PLAYBOOK_DIR / "demo_led.yaml").read_text())
    raw["grades"] = {"thresholds": {"A": 35, "B": 25, "C": 10}}
    raw["icp"] = {"rules": [{"attribute": "company_size", "at_least": 20}], "gate": ["SQL"],
                  "fail_to": "Nurture"}
    transitions = [t for t in raw["transitions"] if t["to"] != "MQL" or t["from"] != ["New Lead"]]
    raw["transitions"] = [
        {"from": ["New Lead"], "to": "MQL", "when": ["score_threshold"]},
        {"from": ["New Lead"], "to": "MQL", "when": ["demo_requested"], "if": {"fit_grade": ["A", "B"]},
         "else": "Nurture"},
        {"from": ["MQL"], "to": "Nurture", "after": "30d"},
        *transitions,
    ]
    for stage in raw["stages"]:
        if stage["name"] == "SQL":
            stage["acceptance"] = {"within": "4h", "reject_to": "MQL", "reasons": REJECT_REASONS}
        if stage["name"] == "In Evaluation":
            stage["required_fields"] = ["stakeholders", "framework:bant"]
    raw["routing"]["rules"].insert(0, {"team": "ae-enterprise", "roles": ["ae"], "fit_grade": ["A"]})
    return raw


def write_playbook(raw: dict[str, Any], directory: Path, name: str = "rules.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def rules_playbook(directory: Path) -> Playbook:
    """Loaded through the validator, as an operator's file would be."""
    return load_playbook(write_playbook(rules_raw(), directory))
