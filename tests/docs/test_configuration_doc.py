"""docs/configuration.md names every setting with its default and every playbook field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from config import accounts, lead_fields, routing
from config import playbook as pb
from config.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()


def row_for(name: str) -> str:
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"docs/configuration.md needs exactly one table row for {name}"
    return rows[0]


@pytest.mark.parametrize("field", list(Settings.model_fields.values()), ids=lambda f: f.alias)
def test_every_setting_is_documented_with_its_default(field):
    default_cell = row_for(field.alias).split("|")[2]
    if field.default is None:
        assert "unset" in default_cell, f"{field.alias}: say that it is unset by default"
    else:
        shown = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
        assert f"`{shown}`" in default_cell, f"{field.alias}: default {shown!r} missing"


def section(model: type[BaseModel]) -> str:
    match = re.search(rf"^###[^\n]*\({model.__name__}\)\n(.*?)(?=^#|\Z)", DOC, re.M | re.S)
    assert match, f"docs/configuration.md needs a section '### ... ({model.__name__})'"
    return match.group(1)


MODELS = [pb.Playbook, pb.Stage, pb.Sla, pb.Transition, pb.Scoring, pb.FitRule, pb.SignalRule,
          pb.NurturePath, pb.Acceptance, pb.Grades, pb.Icp, routing.Routing, routing.RoutingRule,
          routing.Team, routing.TeamCalendar, routing.Member, lead_fields.LeadField,
          lead_fields.VendorField, accounts.AccountRule]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_playbook_field_is_documented(model):
    text = section(model)
    for name, field in model.model_fields.items():
        assert f"| `{field.alias or name}` |" in text, f"{model.__name__}.{field.alias or name}"
