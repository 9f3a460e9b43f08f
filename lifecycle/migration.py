"""Moving a lead in flight to a new version of its playbook, through the new file's
`migrations:` map (stage renames and merges, removed stages -> a named stage). Pure.

The lead keeps its history as it was (old stage names stay true for their time); its current
stage, SLA clocks and touches take the new names, and the move is recorded as a migration, not a
stage change, so the funnel reads it as the same stay.
"""

from __future__ import annotations

from datetime import datetime

from config.playbook import Playbook
from config.playbook_versions import playbook_hash, version_label
from lifecycle import effects as fx
from lifecycle.engine import Decision
from lifecycle.state import LeadState, SlaOutcome, StageChange

MIGRATED_PREFIX = "migrated playbook "  # the ledger detail (ledger/facts.py reads it)


class MigrationRefused(ValueError):
    pass


def stage_after(new: Playbook, version: str | None, digest: str, stage: str) -> str | None:
    """Where a lead in `stage` of the older version (label `version`, content hash `digest`) goes
    in `new`; None when `new` drops that stage without a mapping (the lead would be orphaned)."""
    if stage in {s.name for s in new.stages}:
        return stage
    for migration in new.migrations:
        ref = migration.from_
        if ref == version or (len(ref) >= 6 and digest.startswith(ref)):
            return migration.stages.get(stage)
    return None


def migrate(old: Playbook, new: Playbook, state: LeadState, now: datetime) -> tuple[Decision, str]:
    """The lead on `new`, and the ledger detail recording the migration; MigrationRefused says
    why not (another playbook, the same version, a stage `new` drops without a mapping)."""
    if old.name != new.name:
        raise MigrationRefused(f"the lead runs playbook {old.name!r}, not {new.name!r}")
    if playbook_hash(old) == playbook_hash(new):
        raise MigrationRefused(f"the lead already runs {new.name} {version_label(new)}")
    if state.closure is not None:
        raise MigrationRefused("the lead is closed (merged or deleted)")
    target = stage_after(new, old.version, playbook_hash(old), state.stage)
    if target is None:
        raise MigrationRefused(f"{new.name} {version_label(new)} drops stage {state.stage!r} of "
                               f"{version_label(old)} without a mapping in `migrations:`")
    s = state.model_copy(deep=True)
    effects: list[fx.Effect] = []
    for name in list(s.touches):
        renamed = stage_after(new, old.version, playbook_hash(old), name)
        if renamed and renamed != name:
            s.touches[renamed] = s.touches.get(renamed, 0) + s.touches.pop(name)
    if s.sla is not None:
        s.sla.stage = target
        if new.stage(target).sla is None:  # the new version promises nothing here
            s.sla_outcomes.append(SlaOutcome(stage=state.sla.stage if state.sla else target,
                                             started_at=s.sla.started_at, outcome="left", at=now,
                                             owner=s.owner))
            s.sla = None
            effects.append(fx.CancelSla(outcome="left"))
    if s.paused_sla is not None:
        s.paused_sla.stage = stage_after(new, old.version, playbook_hash(old),
                                         s.paused_sla.stage) or s.paused_sla.stage
    label = f"{old.version or playbook_hash(old)} -> {new.version or playbook_hash(new)}"
    if target != state.stage:
        s.history.append(StageChange(from_stage=state.stage, to_stage=target, at=now, cause="migration",
                                     event_id=f"migration:{playbook_hash(old)}:{playbook_hash(new)}",
                                     reason=f"playbook {new.name} {label}", playbook=new.name))
        s.stage = target
        effects.append(fx.SyncStage(stage=target, previous_stage=state.stage, cause="migration"))
    detail = f"{MIGRATED_PREFIX}{new.name} {label}: {state.stage!r} -> {target!r}"
    return Decision(state=s, effects=effects), detail
