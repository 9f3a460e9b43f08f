"""Per-field sync rules: what a lead does with a field value a CRM reports. Pure, no I/O.

Given a field's direction in one system (config/lead_fields.py), leadflow's value with the time
it was set, and the CRM's value with the time it changed, `resolve` answers ADOPT (the lead takes
the CRM's value), OVERWRITE (leadflow's value is written back over the CRM's) or IGNORE.

Loops are impossible by construction, as for the stage (lifecycle.crm_stage and the lead's echo
check): a CRM value equal to the lead's own is news to no one, and a value equal to what
leadflow last wrote to that system is its own write reported back (`echo_of`), whatever the
direction. An adopted value is written to the other systems once; each reports it back equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from config.lead_fields import DERIVED_FIELDS, READ_DIRECTIONS, Direction, LeadField, effective
from config.playbook import Playbook
from lifecycle.state import FieldStamp, LeadState


class Outcome(StrEnum):
    ADOPT = "adopt"
    OVERWRITE = "overwrite"
    IGNORE = "ignore"


@dataclass(frozen=True)
class Seen:
    """One side's value ("" or None: blank) and when it was set (None: not known)."""

    value: str | None
    at: datetime | None = None


def resolve(direction: Direction, leadflow: Seen, crm: Seen, echo_of: str | None = None) -> Outcome:
    """What the lead does with the CRM's value for a field synced in `direction`."""
    ours, theirs = leadflow.value or "", crm.value or ""
    if theirs == ours or (echo_of is not None and theirs == echo_of):
        return Outcome.IGNORE  # nothing new, or leadflow's own write reported back
    if direction in ("crm_wins", "read_only"):
        return Outcome.ADOPT
    if direction == "crm_wins_unless_blank":
        return Outcome.ADOPT if theirs else Outcome.OVERWRITE
    if direction == "two_way_latest":
        if leadflow.at is None or (crm.at is not None and crm.at >= leadflow.at):
            return Outcome.ADOPT
        return Outcome.OVERWRITE
    if direction == "leadflow_wins":
        return Outcome.OVERWRITE if ours else Outcome.IGNORE  # nothing of ours to write back
    return Outcome.IGNORE  # write_only: never read


def writes(direction: Direction) -> bool:
    return direction != "read_only"


@dataclass
class CrmFieldChange:
    """What one CRM report did to a lead: values adopted (field -> (before, after)), and
    whether leadflow's values must be written back over that system's."""

    adopted: dict[str, tuple[str, str]] = field(default_factory=dict)
    overwrite: bool = False

    def describe(self, system: str, actor: str) -> str:
        changes = ", ".join(f"{name} {before or '(blank)'} -> {after or '(blank)'}"
                            for name, (before, after) in sorted(self.adopted.items()))
        by = f" by {actor}" if actor else ""
        written_back = f"; leadflow's values written back to {system}" if self.overwrite else ""
        return f"{changes or 'no field adopted'} from {system}{by}{written_back}"


def apply_crm_fields(pb: Playbook, state: LeadState, system: str, values: Mapping[str, str],
                     at: datetime, echoes: Mapping[str, str] | None = None) -> CrmFieldChange:
    """Applies a CRM's reported lead-field values to `state` (changed in place) by each field's
    rule in `system`; `echoes` holds what leadflow last wrote there, by lead field."""
    fields = effective(pb.fields)
    out = CrmFieldChange()
    for name, value in sorted(values.items()):
        spec = fields.get(name)
        rule = spec.of(system) if spec else None
        if rule is None or rule.direction not in READ_DIRECTIONS or name in DERIVED_FIELDS:
            continue
        stamp = state.field_stamps.get(name)
        outcome = resolve(rule.direction, Seen(state.fields.get(name), stamp.at if stamp else None),
                          Seen(value, at), (echoes or {}).get(name))
        if outcome == Outcome.ADOPT:
            out.adopted[name] = (state.fields.get(name, ""), value)
            if value:
                state.fields[name] = value
            else:
                state.fields.pop(name, None)
            state.field_stamps[name] = FieldStamp(at=at, source=system)
        elif outcome == Outcome.OVERWRITE:
            out.overwrite = True
    return out


def lead_values(pb: Playbook, system: str, record: Mapping[str, object]) -> dict[str, str]:
    """The lead fields a CRM record (by its vendor names) carries, for fields read from `system`;
    a field the record does not name is left out, a blank one is ""."""
    out: dict[str, str] = {}
    for name, spec in effective(pb.fields).items():
        rule = spec.of(system)
        if rule is None or rule.direction not in READ_DIRECTIONS or rule.name not in record:
            continue
        out[name] = _text(record[rule.name])
    return out


def read_names(pb: Playbook, system: str) -> list[str]:
    """The vendor fields `system` is read for (what backfill and reconcile must ask for)."""
    return sorted({rule.name for spec in effective(pb.fields).values()
                   if (rule := spec.of(system)) is not None and rule.direction in READ_DIRECTIONS})


def vendor_values(fields: Mapping[str, LeadField], system: str,
                  values: Mapping[str, str]) -> dict[str, str]:
    """The lead's values as `system` names them, for the fields written there. A derived field
    (nurture path, snooze reason) is written blank too, so leaving nurture clears it."""
    out: dict[str, str] = {}
    for name, spec in effective(fields).items():
        rule = spec.of(system)
        if rule is None or not writes(rule.direction):
            continue
        value = values.get(name, "")
        if value or name in DERIVED_FIELDS:
            out[rule.name] = value
    return out


def lead_echoes(fields: Mapping[str, LeadField], system: str,
                written: Mapping[str, str]) -> dict[str, str]:
    """What leadflow last wrote to `system` (by vendor name), by lead field."""
    return {name: written[rule.name] for name, spec in effective(fields).items()
            if (rule := spec.of(system)) is not None and rule.name in written}


def _text(value: object) -> str:
    """A vendor's value as a lead field: numbers without a needless ".0", None as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
        return text[:-2]
    return text
