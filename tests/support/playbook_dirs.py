"""Playbook directories for tests (LEADFLOW_PLAYBOOK_DIR), built from the stock playbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.playbook_loader import PLAYBOOK_DIR

# A trial that books a demo joins the demo-led motion.
TRIAL_BOOKS_DEMO = {"from": ["New Trial Signup", "Trial Activated", "Product Qualified"],
                    "to": "Demo Scheduled", "to_playbook": "demo_led", "when": ["demo_scheduled"]}
# Product signups run the trial-led motion; everyone else the demo-led one.
BY_SOURCE = {"selection": [{"when": {"source": ["product", "trial"]}, "playbook": "trial_led"}],
             "default": "demo_led"}


def stock(name: str) -> dict[str, Any]:
    return yaml.safe_load((PLAYBOOK_DIR / f"{name}.yaml").read_text())


def write(directory: Path, file: str, content: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def side_by_side(directory: Path) -> Path:
    """demo_led and trial_led selected by source; trial_led's demo booking joins demo_led."""
    trial = stock("trial_led")
    trial["transitions"].append(TRIAL_BOOKS_DEMO)
    write(directory, "demo_led.yaml", stock("demo_led"))
    write(directory, "trial_led.yaml", trial)
    write(directory, "selection.yaml", BY_SOURCE)
    return directory


def demo_v1() -> dict[str, Any]:
    return {**stock("demo_led"), "version": "v1"}


def renamed(old: str, new: str, content: dict[str, Any]) -> dict[str, Any]:
    """`content` with stage `old` called `new` everywhere (stages, transitions, field mapping)."""
    text = yaml.safe_dump(content, sort_keys=False)
    return yaml.safe_load(text.replace(f"name: {old}\n", f"name: {new}\n")
                          .replace(f"- {old}\n", f"- {new}\n").replace(f"to: {old}\n", f"to: {new}\n")
                          .replace(f"  {old}:\n", f"  {new}:\n"))


def demo_v2() -> dict[str, Any]:
    """demo_led v2: 'Demo Scheduled' renamed 'Discovery Scheduled', with its changelog."""
    content = renamed("Demo Scheduled", "Discovery Scheduled", demo_v1())
    content.update(version="v2", changelog=[{"version": "v2", "changes": [
        "renamed 'Demo Scheduled' to 'Discovery Scheduled'"]}],
        migrations=[{"from": "v1", "stages": {"Demo Scheduled": "Discovery Scheduled"}}])
    return content
