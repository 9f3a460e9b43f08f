"""Playbook versions: a content hash for every playbook, the human `version:` label, and the rules
a new version's `changelog:` and `migrations:` must follow.

A lead refers to its version by the copy of the playbook it carries (LeadInput.playbook, kept
across continue-as-new): `playbook_hash` of that copy and its `version:` label name it, so a lead
whose version is no longer loaded anywhere keeps working from its copy. The hash is of the
validated model (not the file's bytes), so comments and formatting do not make a new version and
the workflow can compute it deterministically.
"""

from __future__ import annotations

import hashlib

from config.playbook import Migration, Playbook

HASH_LENGTH = 12


def playbook_hash(pb: Playbook) -> str:
    """The content hash of a validated playbook: 12 hex characters of SHA-256."""
    return hashlib.sha256(pb.model_dump_json(by_alias=True).encode()).hexdigest()[:HASH_LENGTH]


def version_label(pb: Playbook) -> str:
    """`v4 (3f2a9c0d1e2b)`, or the hash alone for a playbook without a `version:`."""
    digest = playbook_hash(pb)
    return f"{pb.version} ({digest})" if pb.version else digest


def is_version(pb: Playbook, ref: str) -> bool:
    """Whether `ref` names this version: its `version:` label, or a prefix (6+) of its hash."""
    return ref == pb.version or (len(ref) >= 6 and playbook_hash(pb).startswith(ref))


def migration_from(new: Playbook, old: Playbook) -> Migration | None:
    """The entry of `new.migrations` that moves leads of `old`, if any."""
    return next((m for m in new.migrations if is_version(old, m.from_)), None)


def check_versions(pb: Playbook) -> list[tuple[str, str]]:
    """The rules one file follows on its own: a migration maps stages this version no longer has
    onto stages it has; any mapping needs a `version:` and a changelog entry for it."""
    problems: list[tuple[str, str]] = []
    known = {s.name for s in pb.stages}
    for i, migration in enumerate(pb.migrations):
        if pb.version is not None and migration.from_ == pb.version:
            problems.append((f"migrations[{i}].from", f"a version cannot migrate from itself ({pb.version})"))
        for old, new in migration.stages.items():
            if new not in known:
                problems.append((f"migrations[{i}].stages.{old}", f"unknown stage {new!r} in this version"))
            if old in known:
                problems.append((f"migrations[{i}].stages.{old}",
                                 f"{old!r} is still a stage of this version; "
                                 "map only stages it no longer has"))
    maps = any(m.stages for m in pb.migrations)
    if maps and pb.version is None:
        problems.append(("version", "a playbook with migrations needs a version label (e.g. version: v4)"))
    if maps and not any(entry.version == pb.version for entry in pb.changelog):
        problems.append(("changelog", f"stages are renamed or merged (migrations), so the changelog needs "
                                      f"an entry for version {pb.version or '?'} saying what changed"))
    for i, entry in enumerate(pb.changelog):
        if entry.version in [e.version for e in pb.changelog[:i]]:
            problems.append((f"changelog[{i}].version", f"duplicate version {entry.version!r}"))
    return problems


def orphaned_stages(old: Playbook, new: Playbook) -> list[str]:
    """Stages of `old` that `new` drops without a mapping: leads in them would have nowhere to be."""
    migration = migration_from(new, old)
    mapped = migration.stages if migration else {}
    known = {s.name for s in new.stages}
    return [s.name for s in old.stages if s.name not in known and s.name not in mapped]


def renames(versions: list[Playbook]) -> dict[str, str]:
    """Old stage name -> today's, through every version's migrations (chained: A -> B -> C reads
    A as C), so reports keep history's meaning after renames and merges."""
    mapping: dict[str, str] = {}
    for pb in versions:
        for migration in pb.migrations:
            mapping.update(migration.stages)
    resolved = {}
    for old in mapping:
        seen, name = {old}, mapping[old]
        while name in mapping and name not in seen:  # a cycle (A->B, later B->A) stops where it turns
            seen.add(name)
            name = mapping[name]
        if name != old:
            resolved[old] = name
    return resolved
