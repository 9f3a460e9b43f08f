"""A vendor's stage values back to the playbook's stage names, through its field mapping."""

from __future__ import annotations

from config.playbook import Playbook


def is_stage(pb: Playbook, name: str) -> bool:
    return any(stage.name == name for stage in pb.stages)


def stages_with(pb: Playbook, system: str, field: str, value: str) -> list[str]:
    """The playbook stages that write `field=value` to `system` (several means ambiguous)."""
    mapping = pb.field_mapping.get(system, {})  # type: ignore[call-overload]
    return [stage for stage, fields in mapping.items() if fields.get(field) == value]


def mapped_value(pb: Playbook, system: str, stage: str, field: str) -> str | None:
    return pb.field_mapping.get(system, {}).get(stage, {}).get(field)  # type: ignore[call-overload]


def from_field(pb: Playbook, system: str, field: str, value: str) -> tuple[str | None, str]:
    """(stage, "") when exactly one stage maps to the value, else (None, why not)."""
    found = stages_with(pb, system, field, value)
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, f"{field}={value!r} maps to no stage of playbook {pb.name}"
    return None, (f"{field}={value!r} maps to several stages of playbook {pb.name} "
                  f"({', '.join(found)}); set the lead stage field instead")
