"""Shared helpers for the Salesforce tests (a unique module name: tests run without packages)."""

from __future__ import annotations

from typing import Any

from connectors.base import LeadSnapshot
from connectors.salesforce import SalesforceConnector
from emulators import salesforce as sf_emulator

STAGE_FIELDS = {
    "New Lead": {"Status": "New"},
    "MQL": {"Status": "Working"},
    "SQL": {"Status": "Qualified"},
    "Nurture": {"Status": "Nurturing"},
    "Disqualified": {"Status": "Unqualified"},
}


def make_connector(running: sf_emulator.Running, **overrides: Any) -> SalesforceConnector:
    creds = running.credentials
    options: dict[str, Any] = {
        "stage_fields": STAGE_FIELDS, "login_url": running.url, "username": creds["username"],
        "password": creds["password"], "security_token": creds["security_token"],
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "ca_bundle": running.ca_path, "backoff_s": 0.01,
    }
    return SalesforceConnector(**(options | overrides))


def lead(n: int, stage: str = "MQL", **extra: Any) -> LeadSnapshot:
    return LeadSnapshot(email=f"Person{n}@Example.com", stage=stage, score=n, **extra)
