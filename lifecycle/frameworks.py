"""Qualification frameworks (issue 19): stock field sets a stage's `required_fields` can name as
`framework:<name>`, captured field by field (`leadflow command EMAIL capture --prop k=v`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, computed_field

FRAMEWORK_PREFIX = "framework:"
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    # Budget, Authority, Need, Timeline
    "bant": ("budget", "authority", "need", "timeline"),
    # Metrics, Economic buyer, Decision criteria, Decision process, Identify pain, Champion
    "meddic": ("metrics", "economic_buyer", "decision_criteria", "decision_process",
               "identify_pain", "champion"),
    # Challenges, Authority, Money, Prioritization
    "champ": ("challenges", "authority", "money", "prioritization"),
}


class Completeness(BaseModel):
    framework: str
    captured: list[str]
    missing: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share(self) -> str:
        return f"{len(self.captured)}/{len(self.captured) + len(self.missing)}"


def framework_of(name: str) -> str | None:
    """'bant' for 'framework:bant'; None for a plain field name."""
    return name.removeprefix(FRAMEWORK_PREFIX) if name.startswith(FRAMEWORK_PREFIX) else None


def expand(required: Iterable[str]) -> list[str]:
    """Field names, each framework replaced by its fields (unknown frameworks: the validator's)."""
    fields: list[str] = []
    for name in required:
        framework = framework_of(name)
        for field in FRAMEWORKS.get(framework, ()) if framework is not None else (name,):
            if field not in fields:
                fields.append(field)
    return fields


def completeness(frameworks: Iterable[str], fields: Mapping[str, str]) -> list[Completeness]:
    return [Completeness(framework=name,
                         captured=[f for f in FRAMEWORKS[name] if fields.get(f)],
                         missing=[f for f in FRAMEWORKS[name] if not fields.get(f)])
            for name in frameworks if name in FRAMEWORKS]
