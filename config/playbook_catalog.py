"""The playbooks of a deployment: every `*.yaml` in LEADFLOW_PLAYBOOK_DIR (default: the stock ones
in config/playbooks), checked together at worker and ingest start-up.

- Several playbooks run side by side; `selection.yaml` (config/selection.py) picks one per new
  lead. A transition's `to_playbook:` must name a loaded playbook and one of its stages.
- Several versions of one playbook may be loaded (an older file kept beside the newer): the
  current one is the version no other file migrates from; each older one is kept by its content
  hash, and the newer must map every stage it drops (`migrations:`), or leads would be orphaned.

Every problem names the file, the field and the reason, all at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from config.playbook import Playbook
from config.playbook_loader import PlaybookError, Problem, from_pydantic, load_playbook
from config.playbook_versions import is_version, orphaned_stages, playbook_hash, renames
from config.selection import SELECTION_FILE, Selection
from lifecycle.selection import select_playbook


@dataclass(frozen=True)
class Loaded:
    playbook: Playbook
    file: Path
    hash: str


@dataclass
class PlaybookCatalog:
    directory: Path
    default: str  # LEADFLOW_PLAYBOOK: where a lead starts when no selection rule matches
    current: dict[str, Loaded]
    older: dict[str, list[Loaded]] = field(default_factory=dict)  # name -> older versions
    selection: Selection = field(default_factory=Selection)

    def get(self, name: str) -> Playbook:
        """The current version of a playbook, by name: the one lookup every part uses."""
        found = self.current.get(name)
        if found is None:
            raise PlaybookError([Problem(str(self.directory / f"{name}.yaml"), "<file>",
                                         f"no such playbook; known: {', '.join(sorted(self.current))}")])
        return found.playbook

    def versions(self, name: str) -> list[Loaded]:
        """Every loaded version of `name`, the current one last."""
        now = self.current.get(name)
        return [*self.older.get(name, []), *([now] if now else [])]

    def versions_all(self) -> list[Loaded]:
        return [v for name in sorted(self.current) for v in self.versions(name)]

    def version(self, ref: str, name: str | None = None) -> list[Loaded]:
        """The loaded versions `ref` names (a `version:` label or a hash prefix)."""
        names = [name] if name else sorted(self.current)
        return [v for n in names for v in self.versions(n) if is_version(v.playbook, ref)]

    def by_hash(self, digest: str) -> Playbook | None:
        return next((v.playbook for n in self.current for v in self.versions(n) if v.hash == digest), None)

    def switch_targets(self, pb: Playbook) -> dict[str, Playbook]:
        """The playbooks `pb`'s `to_playbook:` transitions lead into (what a lead may join)."""
        names = {t.to_playbook for t in pb.transitions if t.to_playbook}
        return {n: self.current[n].playbook for n in sorted(names) if n in self.current}

    def renames(self, name: str) -> dict[str, str]:
        """Old stage name -> today's for `name`, through its versions' migrations."""
        return renames([v.playbook for v in self.versions(name)])

    def select(self, attributes: dict[str, str]) -> str:
        return select_playbook(self.selection, attributes, self.default)

    def ingest_playbook(self) -> Playbook:
        """The default playbook with the event names of every loaded playbook: ingest maps a name
        before it knows the lead's playbook (the default's own names win a clash)."""
        default = self.get(self.default)
        merged = {}
        for name in sorted(self.current):
            merged.update(self.current[name].playbook.event_map)
        merged.update(default.event_map)
        return default.model_copy(update={"event_map": merged})


def load_catalog(directory: Path | str, default: str) -> PlaybookCatalog:
    """Loads and checks every playbook in `directory`; PlaybookError lists every problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookError([Problem(str(directory), "<directory>",
                                     "no such directory (LEADFLOW_PLAYBOOK_DIR)")])
    problems: list[Problem] = []
    loaded: list[Loaded] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == SELECTION_FILE:
            continue
        try:
            pb = load_playbook(path)
        except PlaybookError as exc:
            problems += exc.problems
            continue
        loaded.append(Loaded(pb, path, playbook_hash(pb)))
    selection, selection_problems = _selection(directory / SELECTION_FILE)
    problems += selection_problems
    by_name: dict[str, list[Loaded]] = defaultdict(list)
    for item in loaded:
        if all(other.hash != item.hash for other in by_name[item.playbook.name]):
            by_name[item.playbook.name].append(item)
    current, older = {}, {}
    for name, versions in by_name.items():
        now, before, found = _current(name, versions)
        problems += found
        if now is not None:
            current[name], older[name] = now, before
    catalog = PlaybookCatalog(directory, default, current, older, selection)
    if not problems:
        problems += _cross_checks(catalog)
    if problems:
        raise PlaybookError(problems)
    return catalog


def _selection(path: Path) -> tuple[Selection, list[Problem]]:
    if not path.exists():
        return Selection(), []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Selection.model_validate(raw), []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Selection(), [Problem(str(path), "<file>", str(exc).replace("\n", " "))]
    except ValidationError as exc:
        return Selection(), [from_pydantic(str(path), err) for err in exc.errors()]


def _current(name: str, versions: list[Loaded]) -> tuple[Loaded | None, list[Loaded], list[Problem]]:
    """The version no other one migrates from is current; each newer one maps what it drops."""
    problems = []
    for new in versions:
        for old in versions:
            if old is new:
                continue
            for i, migration in enumerate(new.playbook.migrations):
                if is_version(old.playbook, migration.from_):
                    for stage in orphaned_stages(old.playbook, new.playbook):
                        was = f"{old.playbook.version or old.hash} ({old.file.name})"
                        problems.append(Problem(str(new.file), f"migrations[{i}].stages",
                                                f"drops stage {stage!r} of {was} without a mapping: "
                                                "leads in it would be orphaned"))
    migrated = {old.hash for old in versions for new in versions if new is not old
                and any(is_version(old.playbook, m.from_) for m in new.playbook.migrations)}
    heads = [v for v in versions if v.hash not in migrated]
    if len(heads) != 1:
        files = ", ".join(f"{v.file.name} ({v.playbook.version or v.hash})" for v in versions)
        problems.append(Problem(str(versions[-1].file), "migrations",
                                f"{len(versions)} versions of playbook {name!r} are loaded ({files}); "
                                "the newer must name the older in `migrations: [{from: <version>, "
                                "stages: ...}]`"))
        return None, [], problems
    return heads[0], [v for v in versions if v is not heads[0]], problems


def _cross_checks(catalog: PlaybookCatalog) -> list[Problem]:
    problems = []
    for loaded in catalog.current.values():
        for i, t in enumerate(loaded.playbook.transitions):
            if t.to_playbook is None:
                continue
            target = catalog.current.get(t.to_playbook)
            if target is None:
                problems.append(Problem(str(loaded.file), f"transitions[{i}].to_playbook",
                                        f"no playbook {t.to_playbook!r} in {catalog.directory}; "
                                        f"known: {', '.join(sorted(catalog.current))}"))
            elif t.to not in {s.name for s in target.playbook.stages}:
                problems.append(Problem(str(loaded.file), f"transitions[{i}].to",
                                        f"unknown stage {t.to!r} in playbook {t.to_playbook}"))
    path = str(catalog.directory / SELECTION_FILE)
    for i, rule in enumerate(catalog.selection.selection):
        if rule.playbook not in catalog.current:
            problems.append(Problem(path, f"selection[{i}].playbook", f"no playbook {rule.playbook!r}; "
                                    f"known: {', '.join(sorted(catalog.current))}"))
    if catalog.selection.default is not None and catalog.selection.default not in catalog.current:
        problems.append(Problem(path, "default", f"no playbook {catalog.selection.default!r}"))
    if catalog.default not in catalog.current:
        known = ", ".join(sorted(catalog.current))
        problems.append(Problem(str(catalog.directory), "LEADFLOW_PLAYBOOK",
                                f"no playbook {catalog.default!r} here; known: {known}"))
    return problems
