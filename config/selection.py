"""`selection.yaml` in the playbook directory: which playbook a new lead starts in.

    selection:
      - {when: {source: [product, trial]}, playbook: trial_led}
      - {when: {email_type: [business], country: [DE, FR]}, playbook: demo_led}
    default: demo_led        # else LEADFLOW_PLAYBOOK

The first rule whose conditions all match names the playbook; a condition names a lead
attribute (source, product, email_type, country, or any field the first event brings) and the
values it may have (case-insensitive).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SELECTION_FILE = "selection.yaml"


class SelectionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when: dict[str, list[str]] = Field(min_length=1)
    playbook: str = Field(min_length=1)


class Selection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    selection: list[SelectionRule] = Field(default_factory=list)
    default: str | None = None
