"""Loading playbooks from YAML and checking that the stage model makes sense as a whole.

Every problem is reported with the file, the field path and the reason, all at once,
so an operator fixes a playbook in one pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.accounts import check_accounts
from config.lead_fields import check_fields
from config.playbook import TERMINAL_KINDS, Playbook, StageKind, Transition
from config.playbook_versions import check_versions
from config.routing import check_routing
from config.rules import check_rules
from lifecycle.accounts import FREE_MAIL_DOMAINS
from lifecycle.events import COMMAND_VERBS, TIMER_KINDS, EventKind
from lifecycle.mapping import NAMEABLE_KINDS

if TYPE_CHECKING:
    from config.playbook_catalog import PlaybookCatalog

PLAYBOOK_DIR = Path(__file__).parent / "playbooks"


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.reason}"


class PlaybookError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def load_playbook(path: Path | str) -> Playbook:
    """Reads and checks one playbook file; raises PlaybookError naming every problem."""
    path = Path(path)
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PlaybookError([Problem(name, "<file>", f"not UTF-8 text ({exc.reason} at byte "
                                                     f"{exc.start}); save the playbook as UTF-8")]) from None
    except (OSError, yaml.YAMLError) as exc:
        raise PlaybookError([Problem(name, "<file>", str(exc).replace("\n", " "))]) from None
    except RecursionError:
        raise PlaybookError([Problem(name, "<file>", "nests too deeply to be a playbook")]) from None
    try:
        playbook = Playbook.model_validate(raw)
    except ValidationError as exc:
        raise PlaybookError([from_pydantic(name, err) for err in exc.errors()]) from exc
    except RecursionError:
        raise PlaybookError([Problem(name, "<root>", "nests too deeply to be a playbook")]) from None
    problems = [Problem(name, p, r) for p, r in check_playbook(playbook)]
    if problems:
        raise PlaybookError(problems)
    return playbook


@cache
def stock_playbook(name: str) -> Playbook:
    """The current version of a playbook of this deployment, by name (demo_led, trial_led, ...):
    the one lookup. Playbooks come from LEADFLOW_PLAYBOOK_DIR (default: the stock ones under
    config/playbooks), loaded and checked together by config/playbook_catalog.py.

    Read once per process (parsing costs ~10 ms and every lead start asks for one); callers
    share the instance and must not change it."""
    return playbook_catalog().get(name)


@cache
def playbook_catalog(directory: Path | None = None, default: str | None = None) -> PlaybookCatalog:
    """The deployment's playbooks: LEADFLOW_PLAYBOOK_DIR with LEADFLOW_PLAYBOOK as the default, or
    those given (worker and ingest pass their settings'). Cached per directory and default."""
    from config.playbook_catalog import load_catalog

    if directory is None or default is None:
        from config.settings import load_settings

        settings = load_settings()
        directory, default = directory or settings.playbook_directory, default or settings.playbook
    return load_catalog(directory, default)


def from_pydantic(file: str, error: ErrorDetails) -> Problem:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
    return Problem(file, loc or "<root>", error["msg"])


def check_playbook(pb: Playbook) -> list[tuple[str, str]]:
    """Whole-model rules pydantic cannot see field by field. Returns (field path, reason) pairs."""
    problems: list[tuple[str, str]] = []
    names = [s.name for s in pb.stages]
    known = set(names)
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append((f"stages[{i}].name", f"duplicate stage {name!r}"))
    if pb.initial_stage not in known:
        problems.append(("initial_stage", f"unknown stage {pb.initial_stage!r}"))
    problems += _check_transitions(pb, known)
    problems += _check_stages(pb)
    problems += _check_reachability(pb, known)
    problems += _check_nurture(pb, known)
    problems += _check_scoring(pb)
    problems += _check_facts_and_commands(pb)
    problems += _check_sla_clocks(pb)
    if pb.routing is not None:
        problems += check_routing(pb.routing)
    problems += check_versions(pb)
    problems += check_rules(pb, known)
    problems += check_fields(pb.fields)
    problems += check_accounts(pb.accounts, known, FREE_MAIL_DOMAINS)
    for system, stages in pb.field_mapping.items():
        for stage in stages:
            if stage not in known:
                problems.append((f"field_mapping.{system}.{stage}", "unknown stage"))
    for label, reasons in (("disqualification_reasons", pb.disqualification_reasons),
                           ("loss_reasons", pb.loss_reasons)):
        for reason, count in Counter(reasons).items():
            if count > 1:
                problems.append((label, f"duplicate reason {reason!r}"))
    return problems


def _check_transitions(pb: Playbook, known: set[str]) -> list[tuple[str, str]]:
    problems = []
    for i, t in enumerate(pb.transitions):
        for j, source in enumerate(t.from_):
            if source != "*" and source not in known:
                problems.append((f"transitions[{i}].from[{j}]", f"unknown stage {source!r}"))
        if t.to_playbook is not None:  # `to` is a stage of the other playbook: checked by the catalog
            if "score_threshold" in t.when:
                problems.append((f"transitions[{i}].when", "scoring cannot move a lead to another playbook"))
            if t.to_playbook == pb.name:
                problems.append((f"transitions[{i}].to_playbook", "names this playbook itself"))
            continue
        if t.to not in known:
            problems.append((f"transitions[{i}].to", f"unknown stage {t.to!r}"))
            continue
        target = pb.stage(t.to)
        if target.requires_confirmation and "score_threshold" in t.when:
            problems.append((f"transitions[{i}].when",
                             f"{t.to!r} needs a person's confirmation; scoring cannot move a lead there"))
        for kind in t.when:
            if kind in TIMER_KINDS:
                problems.append((f"transitions[{i}].when", f"{kind} is fired by timers, not a trigger"))
        if "score_threshold" in t.when and t.min_score is None and t.score_categories:
            problems.append((f"transitions[{i}].min_score", "score_categories needs min_score"))
    return problems


def _check_facts_and_commands(pb: Playbook) -> list[tuple[str, str]]:
    """Facts and commands stay apart: no fact moves a lead into a stage that needs a person's
    confirmation, and no incoming event name maps to a person's command."""
    problems = []
    for i, t in enumerate(pb.transitions):
        if t.to in {s.name for s in pb.stages} and pb.stage(t.to).requires_confirmation \
                and not _returns_from_waiting(pb, t):
            for j, kind in enumerate(t.when):
                if kind != "score_threshold" and kind not in COMMAND_VERBS and kind not in TIMER_KINDS:
                    problems.append((f"transitions[{i}].when[{j}]", _confirmation(t.to, kind)))
    for i, path in enumerate(pb.nurture_paths):
        if path.re_entry_stage in {s.name for s in pb.stages} and \
                pb.stage(path.re_entry_stage).requires_confirmation:
            for j, kind in enumerate(path.re_entry_on):
                if kind not in COMMAND_VERBS:
                    problems.append((f"nurture_paths[{i}].re_entry_on[{j}]",
                                     _confirmation(path.re_entry_stage, kind)))
    for name, kind in pb.event_map.items():
        if kind not in NAMEABLE_KINDS:
            what = "a person's command" if kind in COMMAND_VERBS else "not a fact a system reports"
            problems.append((f"event_map.{name}", f"{kind} is {what}; an incoming event cannot be it"))
    return problems


def _returns_from_waiting(pb: Playbook, t: Transition) -> bool:
    """A customer's reply ending a wait that only the confirmed stage leads into: the lead was
    confirmed before it waited, so the fact confirms nothing new."""
    known = {s.name for s in pb.stages}
    sources = [name for name in pb.sources_of(t) if name in known]
    return bool(sources) and all(
        pb.stage(name).pauses_sla
        and all(pb.sources_of(entry) == [t.to] for entry in pb.transitions if entry.to == name)
        for name in sources)


def _confirmation(stage: str, kind: str) -> str:
    return (f"{kind} is a fact, but {stage!r} requires a person's confirmation: "
            "only a command may move a lead there")


def _check_stages(pb: Playbook) -> list[tuple[str, str]]:
    problems = []
    for i, stage in enumerate(pb.stages):
        if stage.sla and (stage.kind in TERMINAL_KINDS or stage.kind == StageKind.NURTURE):
            problems.append((f"stages[{i}].sla", f"{stage.kind} stage {stage.name!r} cannot have an SLA"))
    kinds = {s.kind for s in pb.stages}
    if StageKind.DISQUALIFIED not in kinds:
        problems.append(("stages", "no stage of kind 'disqualified'"))
    return problems


def _check_reachability(pb: Playbook, known: set[str]) -> list[tuple[str, str]]:
    reached = {pb.initial_stage}
    frontier = [pb.initial_stage]
    while frontier:
        current = frontier.pop()
        for t in pb.transitions:
            if t.to_playbook is not None:  # a stage of another playbook
                continue
            for to in (t.to, t.else_):  # an `else:` target is reached too (issue 19)
                if to in known and to not in reached and current in pb.sources_of(t):
                    reached.add(to)
                    frontier.append(to)
    return [(f"stages[{i}]", f"stage {s.name!r} is unreachable from {pb.initial_stage!r}")
            for i, s in enumerate(pb.stages) if s.name not in reached]


def _check_nurture(pb: Playbook, known: set[str]) -> list[tuple[str, str]]:
    problems = []
    for i, path in enumerate(pb.nurture_paths):
        if path.re_entry_stage not in known:
            problems.append((f"nurture_paths[{i}].re_entry_stage", f"unknown stage {path.re_entry_stage!r}"))
    has_paths = bool(pb.nurture_paths)
    for i, stage in enumerate(pb.stages):
        if stage.kind != StageKind.NURTURE:
            continue
        leaves = any(stage.name in pb.sources_of(t) and t.to != stage.name for t in pb.transitions)
        if not (has_paths or leaves):
            problems.append((f"stages[{i}]", f"nurture stage {stage.name!r} has no re-entry"))
    snooze_targets = {t.to for t in pb.transitions if EventKind.SNOOZE in t.when}
    if snooze_targets and not has_paths:
        problems.append(("nurture_paths", "snooze transitions need at least one nurture path"))
    return problems


def _check_scoring(pb: Playbook) -> list[tuple[str, str]]:
    problems = []
    for i, rule in enumerate(pb.scoring.signals):
        if rule.event == EventKind.EMAIL_OPEN and rule.points > 0:
            problems.append((f"scoring.signals[{i}].points", "email opens never qualify; points must be 0"))
    for i, fit in enumerate(pb.scoring.fit):
        if not fit.equals_any and fit.at_least is None:
            problems.append((f"scoring.fit[{i}]", "needs equals_any or at_least"))
    return problems


def _check_sla_clocks(pb: Playbook) -> list[tuple[str, str]]:
    problems = []
    for i, stage in enumerate(pb.stages):
        if stage.sla and stage.sla.business_hours and pb.routing is None:
            problems.append((f"stages[{i}].sla.business_hours", "needs routing teams with calendars"))
        if stage.pauses_sla and stage.sla:
            problems.append((f"stages[{i}].sla",
                             f"waiting stage {stage.name!r} pauses SLAs; it cannot have one"))
    return problems
