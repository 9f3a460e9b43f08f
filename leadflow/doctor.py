"""`leadflow doctor`: proof that each configured vendor accepts what leadflow sends.

A vendor can look configured and still drop everything: Segment's HTTP API answers 200 for a
wrong or rotated write key, a HubSpot private app can lack a scope, a Salesforce org can lack
leadflow's fields. The doctor runs each connector's read-only checks and, for Segment, tracks
one test event and looks for it in the source's debugger (the local emulator serves one; for
the real Segment that last look is a step for a person, printed with the event to look for).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

import requests

from config.settings import Settings
from config.vendors import Vendor
from connectors.base import Connector, Finding, VendorError

DOCTOR_EVENT = "Leadflow Doctor Check"
DOCTOR_USER = "leadflow-doctor@leadflow.invalid"


def run(settings: Settings, vendors: Sequence[str],
        connectors: Callable[[str, str], Connector]) -> list[Finding]:
    findings: list[Finding] = []
    for vendor in vendors:
        try:
            connector = connectors(vendor, settings.playbook)
        except VendorError as exc:
            findings.append(Finding(vendor=vendor, check="configuration", status="failed",
                                    detail=str(exc)))
            continue
        if vendor == Vendor.SEGMENT:
            findings += segment(settings, connector)
        else:
            findings += connector.doctor()  # type: ignore[attr-defined]
    return findings


def segment(settings: Settings, connector: Connector, wait_s: float = 5.0) -> list[Finding]:
    check_id = uuid.uuid4().hex
    sent = connector.track(DOCTOR_USER, DOCTOR_EVENT, {"check_id": check_id},  # type: ignore[attr-defined]
                           check_id)
    if not sent.ok:
        return [Finding(vendor="segment", check="track a test event", status="failed",
                        detail=sent.message or "")]
    out = [Finding(vendor="segment", check="track a test event", status="ok",
                   detail="Segment answered 200 (it does so even for a wrong write key)")]
    key = settings.segment_write_key.get_secret_value() if settings.segment_write_key else ""
    debugger = f"{settings.segment_host.rstrip('/')}/_emulator/debugger"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            answer = requests.get(debugger, auth=(key, ""), timeout=5)
        except requests.RequestException:
            answer = None
        if answer is None or answer.status_code != 200:
            return out + [Finding(
                vendor="segment", check="event seen by the source", status="manual",
                detail=f"open Segment > Connections > Sources > your source > Debugger and "
                       f"look for '{DOCTOR_EVENT}' from {DOCTOR_USER} with check_id "
                       f"{check_id}; if it is not there, SEGMENT_WRITE_KEY is wrong")]
        if any((e.get("properties") or {}).get("check_id") == check_id
               for e in answer.json().get("events", [])):
            return out + [Finding(vendor="segment", check="event seen by the source",
                                  status="ok", detail=f"check_id {check_id}")]
        if time.monotonic() > deadline:
            return out + [Finding(
                vendor="segment", check="event seen by the source", status="failed",
                detail=f"Segment answered 200 but '{DOCTOR_EVENT}' (check_id {check_id}) never "
                       "reached the source: SEGMENT_WRITE_KEY is wrong or was rotated")]
        time.sleep(0.2)


def report(findings: list[Finding]) -> tuple[str, bool]:
    """The printed report and whether every check passed (manual steps do not fail it)."""
    marks = {"ok": "ok    ", "failed": "FAILED", "manual": "MANUAL"}
    lines = [f"{marks[f.status]} {f.vendor}: {f.check}" + (f" - {f.detail}" if f.detail else "")
             for f in findings]
    failed = sum(f.status == "failed" for f in findings)
    lines.append(f"{len(findings)} checks, {failed} failed" if findings
                 else "no vendor configured: nothing to check")
    return "\n".join(lines), failed == 0
