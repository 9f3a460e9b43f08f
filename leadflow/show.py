"""A playbook rendered for people reading it in a terminal."""

from __future__ import annotations

from datetime import timedelta

from config.playbook import Playbook


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    # "24h" reads better than "1d"; whole days from two days up.
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= (2 * size if unit == "d" else size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_playbook(pb: Playbook) -> str:
    lines = [f"Playbook {pb.name}: {pb.description}", "", "Stages:"]
    for stage in pb.stages:
        marker = "*" if stage.name == pb.initial_stage else " "
        owner = f" owner={stage.owner_role}" if stage.owner_role else ""
        needs = f" requires={','.join(stage.required_fields)}" if stage.required_fields else ""
        lines.append(f" {marker} {stage.name} [{stage.kind}]{owner}{needs}")
        if stage.sla:
            sla = stage.sla
            lines.append(f"      SLA: {' or '.join(sla.expect)} within {_duration(sla.within)}"
                         f"; on breach: {', '.join(sla.on_breach)}")
    lines += ["", "Transitions:"]
    for t in pb.transitions:
        guard = f" (score >= {t.min_score})" if t.min_score is not None else ""
        lines.append(f"   {', '.join(t.from_)} -> {t.to} on {', '.join(t.when)}{guard}")
    s = pb.scoring
    lines += ["", f"Scoring (MQL at {s.mql_threshold}"
              + (f", half-life {_duration(s.half_life)}" if s.half_life else "") + "):"]
    lines += [f"   fit: {r.attribute} {r.equals_any or f'>= {r.at_least}'} +{r.points}" for r in s.fit]
    lines += [f"   {r.category}: {r.event} +{r.points}" for r in s.signals]
    lines += ["", f"Disqualification reasons: {', '.join(pb.disqualification_reasons)}"]
    for path in pb.nurture_paths:
        lines.append(f"Nurture path {path.name}: follow up after {_duration(path.follow_up_after)};"
                     f" re-enter {path.re_entry_stage} on {', '.join(path.re_entry_on)}")
    return "\n".join(lines)
