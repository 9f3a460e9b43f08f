"""Which playbook stage a CRM record shows: the one interpreter for webhooks, backfill and reconcile.

Pure and vendor-neutral. The connectors (and ingest's vendor sources) hand it a record's stage
fields already normalised as `CrmFields`: the stage name leadflow wrote on the record, and the
CRM's native stage fields named as the playbook's field mapping names them, the most significant
first. leadflow's written stage wins while the native fields agree with it; a person working in
the CRM usually moves only the native fields, so when they disagree, they tell what was meant.

The one rule for ambiguous values: when the native fields match several stages, the answer is
the stage leadflow wrote if it is one of them; the earliest of them (in playbook order) for a
whole record leadflow never wrote (an import starts no further along than the CRM shows);
otherwise no stage, and the lead stays where it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from config.playbook import Playbook


@dataclass(frozen=True)
class CrmFields:
    """One record's stage fields as its connector normalised them."""

    # The CRM's own stage fields by the field mapping's names, most significant first
    # (None or "" when the record has no value).
    native: Mapping[str, str | None] = field(default_factory=dict)
    written: str | None = None  # the stage name leadflow keeps on the record, if any
    # Only the changed field is known (one webhook property change), not what leadflow wrote.
    partial: bool = False


@dataclass(frozen=True)
class CrmStage:
    stage: str | None
    why: str = ""  # when there is no stage: why not, for the sender or the operator


def is_stage(pb: Playbook, name: str) -> bool:
    return any(stage.name == name for stage in pb.stages)


def crm_stage(pb: Playbook, system: str, fields: CrmFields) -> CrmStage:
    """The playbook stage the record shows, or no stage and why (see the module's rule)."""
    names = [s.name for s in pb.stages]
    mapping: Mapping[str, Mapping[str, str]] = pb.field_mapping.get(system, {})  # type: ignore[call-overload]
    native = {name: value for name, value in fields.native.items() if value}
    written = fields.written
    if written in names and all(native.get(f) == v for f, v in mapping.get(written, {}).items()
                                if f in native):
        return CrmStage(written)
    if not native:
        return CrmStage(None, "nothing on the record names a stage")
    found = [name for name in names if mapping.get(name) and set(native) <= set(mapping[name])
             and all(mapping[name][f] == v for f, v in native.items())]
    primary = next(iter(fields.native))
    if not found and native.get(primary):
        found = [name for name in names if mapping.get(name, {}).get(primary) == native[primary]]
    values = ", ".join(f"{f}={v!r}" for f, v in native.items())
    if len(found) == 1 or (found and written is None and not fields.partial):
        return CrmStage(found[0])
    if written in found:
        return CrmStage(written)
    if not found:
        return CrmStage(None, f"{values} maps to no stage of playbook {pb.name}")
    return CrmStage(None, f"{values} maps to several stages of playbook {pb.name} "
                          f"({', '.join(found)}); set the lead stage field instead")
