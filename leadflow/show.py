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
        if stage.acceptance:
            lines.append(f"      acceptance by the owner within {_duration(stage.acceptance.within)};"
                         f" a rejection goes to {stage.acceptance.reject_to}")
    lines += ["", "Transitions:"]
    for t in pb.transitions:
        guard = f" (score >= {t.min_score})" if t.min_score is not None else ""
        trigger = f"after {_duration(t.after)} without a touch" if t.after else f"on {', '.join(t.when)}"
        if t.if_:
            guard += " if " + " and ".join(f"{k} in {', '.join(v)}" for k, v in t.if_.items())
            guard += f", else -> {t.else_}" if t.else_ else ""
        lines.append(f"   {', '.join(t.from_)} -> {t.to} {trigger}{guard}")
    s = pb.scoring
    lines += ["", f"Scoring (MQL at {s.mql_threshold}"
              + (f", half-life {_duration(s.half_life)}" if s.half_life else "") + "):"]
    lines += [f"   fit: {r.attribute} {r.equals_any or f'>= {r.at_least}'} +{r.points}" for r in s.fit]
    lines += [f"   {r.category}: {r.event} +{r.points}" for r in s.signals]
    if pb.grades:
        lines.append("   grades: " + ", ".join(f"{g} >= {n}" for g, n in pb.grades.thresholds.items())
                     + (f" ({len(pb.grades.rules)} rules first)" if pb.grades.rules else "") + ", else D")
    if pb.icp:
        lines.append("   ICP: " + "; ".join(r.attribute for r in pb.icp.rules)
                     + (f"; gates {', '.join(pb.icp.gate)}" if pb.icp.gate else "")
                     + (f"; failing leads -> {pb.icp.fail_to}" if pb.icp.fail_to else ""))
    lines += ["", f"Disqualification reasons: {', '.join(pb.disqualification_reasons)}"]
    for path in pb.nurture_paths:
        lines.append(f"Nurture path {path.name}: follow up after {_duration(path.follow_up_after)};"
                     f" re-enter {path.re_entry_stage} on {', '.join(path.re_entry_on)}")
    return "\n".join(lines)
