"""The three vendor emulators plus leadflow's settings and connectors pointed at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from config.settings import Settings
from emulators.run_all import env_for, run_all, stop_all
from worker import connector_factory

VENDORS = ("hubspot", "salesforce", "segment")


@dataclass
class VendorStack:
    running: dict[str, Any]
    settings: Settings

    def connectors(self):  # type: ignore[no-untyped-def]
        return connector_factory(self.settings)

    @property
    def hubspot(self) -> Any:
        return self.running["hubspot"].state

    @property
    def salesforce(self) -> Any:
        return self.running["salesforce"].state

    @property
    def segment(self) -> Any:
        return self.running["segment"].state

    def hubspot_contact(self, email: str) -> dict[str, Any]:
        record = self.hubspot.contact(email)
        return dict(record.properties) if record else {}

    def salesforce_lead(self, email: str) -> dict[str, Any]:
        return dict(self.salesforce.lead_by_key(email) or {})

    def segment_traits(self, email: str) -> dict[str, Any]:
        identifies = self.segment.events_of("identify", user_id=email)
        return dict(identifies[-1]["traits"]) if identifies else {}

    def segment_stage_changes(self, email: str) -> list[tuple[str, str]]:
        return [(e["properties"]["from"], e["properties"]["to"])
                for e in self.segment.events_of("track", user_id=email)
                if e.get("event") == "Lead Stage Changed"]


@contextmanager
def vendor_stack(**salesforce_options: Any) -> Iterator[VendorStack]:
    running = run_all(True, True, True)
    try:
        if salesforce_options:
            running["salesforce"].stop()
            from emulators import salesforce
            running["salesforce"] = salesforce.start(**salesforce_options)
        settings = Settings(_env_file=None, **env_for(running))  # type: ignore[call-arg]
        stack = VendorStack(running, settings)
        stack.connectors()("hubspot", "demo_led").provision()
        yield stack
    finally:
        stop_all(running)
