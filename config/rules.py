"""Whole-playbook checks of issue 19's richer rules: conditional and time-based transitions,
fit grades, the ICP gate, handoff acceptance and qualification frameworks. Returns (field path,
reason) pairs; the loader adds the file name."""

from __future__ import annotations

from config.playbook import Conditions, Playbook, StageKind
from lifecycle.events import COMMAND_VERBS
from lifecycle.frameworks import FRAMEWORKS, expand, framework_of
from lifecycle.qualification import DERIVED_VALUES, STANDARD_FIELDS

Problems = list[tuple[str, str]]


def check_rules(pb: Playbook, known: set[str]) -> Problems:
    fields = _known_fields(pb)
    problems = _check_transitions(pb, known, fields)
    problems += _check_grades(pb, fields)
    problems += _check_icp(pb, known)
    for i, stage in enumerate(pb.stages):
        where = f"stages[{i}]"
        for j, name in enumerate(stage.required_fields):
            framework = framework_of(name)
            if framework is not None and framework not in FRAMEWORKS:
                problems.append((f"{where}.required_fields[{j}]",
                                 f"unknown framework {framework!r}; known: {', '.join(sorted(FRAMEWORKS))}"))
        if stage.acceptance is None:
            continue
        if stage.owner_role not in ("sdr", "ae", "cs"):
            problems.append((f"{where}.acceptance",
                             "a handoff needs an owner: set owner_role (sdr, ae or cs)"))
        reject_to = stage.acceptance.reject_to
        if reject_to not in known:
            problems.append((f"{where}.acceptance.reject_to", f"unknown stage {reject_to!r}"))
        elif reject_to == stage.name:
            problems.append((f"{where}.acceptance.reject_to", "a rejected lead must leave the stage"))
    if pb.routing is not None:
        for i, rule in enumerate(pb.routing.rules):
            if rule.fit_grade and pb.grades is None:
                problems.append((f"routing.rules[{i}].fit_grade", "needs a grades: section"))
    return problems


def _known_fields(pb: Playbook) -> set[str]:
    fields = set(STANDARD_FIELDS) | set(DERIVED_VALUES) | set(pb.fields)
    fields |= {rule.attribute for rule in pb.scoring.fit}
    fields |= {rule.attribute for rule in pb.icp.rules} if pb.icp else set()
    fields |= {f for s in pb.stages for f in expand(s.required_fields)}
    fields |= {f for names in FRAMEWORKS.values() for f in names}
    return fields


def check_conditions(pb: Playbook, where: str, conditions: Conditions, fields: set[str]) -> Problems:
    """Each condition names a known field; grades and ICP values are ones leadflow gives."""
    problems = []
    for name, allowed in conditions.items():
        if name not in fields:
            problems.append((f"{where}.{name}", f"unknown field {name!r}; name a standard field, a "
                                                 "fit or ICP attribute, or declare it under fields:"))
            continue
        if not allowed:
            problems.append((f"{where}.{name}", "lists no values; the condition could never hold"))
        if name == "fit_grade" and pb.grades is None:
            problems.append((f"{where}.{name}", "fit_grade needs a grades: section"))
        if name == "icp" and pb.icp is None:
            problems.append((f"{where}.{name}", "icp needs an icp: section"))
        values = DERIVED_VALUES.get(name, ())
        for value in allowed:
            if values and value not in values:
                problems.append((f"{where}.{name}", f"unknown {name} {value!r}; one of {', '.join(values)}"))
    return problems


def _check_transitions(pb: Playbook, known: set[str], fields: set[str]) -> Problems:
    problems: Problems = []
    for i, t in enumerate(pb.transitions):
        where = f"transitions[{i}]"
        if not t.when and t.after is None:
            problems.append((f"{where}.when", "needs the events that trigger it, or after: a duration"))
        if t.when and t.after is not None:
            problems.append((f"{where}.after", "a time-based transition fires on its own; leave when: out"))
        if t.after is not None and "*" in t.from_:
            problems.append((f"{where}.from", "a time-based transition names its stages, not '*'"))
        if t.else_ is not None and not t.if_:
            problems.append((f"{where}.else", "else: needs an if:"))
        if t.else_ is not None and t.else_ not in known:
            problems.append((f"{where}.else", f"unknown stage {t.else_!r}"))
        elif t.else_ is not None and any(k not in COMMAND_VERBS for k in t.when):
            problems += _only_a_person(pb, f"{where}.else", t.else_, "a fact or a score")
        if t.after is not None and t.to in known:
            problems += _only_a_person(pb, f"{where}.to", t.to, "a time-based transition")
        problems += check_conditions(pb, f"{where}.if", t.if_, fields)
    return problems


def _check_grades(pb: Playbook, fields: set[str]) -> Problems:
    if pb.grades is None:
        return []
    problems = []
    thresholds = [pb.grades.thresholds.get(g) for g in ("A", "B", "C")]  # type: ignore[call-overload]
    given = [t for t in thresholds if t is not None]
    if given != sorted(given, reverse=True):
        problems.append(("grades.thresholds", "A needs the highest fit score, then B, then C"))
    for i, rule in enumerate(pb.grades.rules):
        if "fit_grade" in rule.if_:
            problems.append((f"grades.rules[{i}].if.fit_grade", "a grade rule cannot read the grade"))
        else:
            problems += check_conditions(pb, f"grades.rules[{i}].if", rule.if_, fields)
    if not given and not pb.grades.rules:
        problems.append(("grades", "needs thresholds or rules"))
    return problems


def _check_icp(pb: Playbook, known: set[str]) -> Problems:
    if pb.icp is None:
        return []
    problems = []
    for i, rule in enumerate(pb.icp.rules):
        if not rule.equals_any and rule.at_least is None and rule.at_most is None:
            problems.append((f"icp.rules[{i}]", "needs equals_any, at_least or at_most"))
    for i, stage in enumerate(pb.icp.gate):
        if stage not in known:
            problems.append((f"icp.gate[{i}]", f"unknown stage {stage!r}"))
    if pb.icp.fail_to is not None and pb.icp.fail_to not in known:
        problems.append(("icp.fail_to", f"unknown stage {pb.icp.fail_to!r}"))
    if pb.icp.fail_to in pb.icp.gate:
        problems.append(("icp.fail_to", "a failing lead cannot be sent to a gated stage"))
    elif pb.icp.fail_to is not None and pb.icp.fail_to in known:
        problems += _only_a_person(pb, "icp.fail_to", pb.icp.fail_to, "the ICP gate")
    return problems


def _only_a_person(pb: Playbook, where: str, stage: str, mover: str) -> Problems:
    """Stages only a person's command may enter: confirmed ones, and disqualification (a reason)."""
    target = pb.stage(stage)
    if target.requires_confirmation:
        return [(where, f"{stage!r} requires a person's confirmation; {mover} cannot move a lead there")]
    if target.kind == StageKind.DISQUALIFIED:
        return [(where, f"{stage!r} needs a person's reason code; {mover} cannot disqualify")]
    return []
