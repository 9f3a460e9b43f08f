"""`leadflow doctor` from a shell: each configured vendor proves it accepts what leadflow sends.
Segment answers 200 even for a wrong write key, so only the doctor's test event, looked for in
the source's debugger, shows that nothing arrives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulators import hubspot
from emulators.run_all import env_for
from tests.support.vendor_stack import vendor_stack

LEADFLOW = str(Path(sys.prefix) / "bin" / "leadflow")


@pytest.fixture(scope="module")
def stack():
    with vendor_stack() as running:
        yield running


def doctor(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("LEADFLOW_", "HUBSPOT_", "SALESFORCE_", "SEGMENT_"))}
    done = subprocess.run([LEADFLOW, "doctor"], env=base | env, cwd=tmp_path,  # no .env here
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_a_configured_stack_passes_every_check(stack, tmp_path):
    code, out = doctor(tmp_path, env_for(stack.running))

    assert code == 0, out
    assert "FAILED" not in out
    for vendor in ("hubspot", "salesforce", "segment"):
        assert f"ok     {vendor}:" in out
    assert "ok     segment: event seen by the source" in out
    assert "property lead_stage" in out and "Lead fields and Status values" in out


def test_a_wrong_segment_key_and_missing_hubspot_properties_fail_clearly(stack, tmp_path):
    with hubspot.start() as bare_portal:  # leadflow's properties never created here
        env = env_for(stack.running) | {"SEGMENT_WRITE_KEY": "rotated-key",
                                         "HUBSPOT_BASE_URL": bare_portal.url}
        code, out = doctor(tmp_path, env)

    assert code == 1, out
    assert "ok     segment: track a test event" in out  # Segment said 200 ...
    assert "FAILED segment: event seen by the source" in out  # ... and dropped it
    assert "SEGMENT_WRITE_KEY is wrong" in out
    assert "FAILED hubspot: property lead_stage" in out and "leadflow setup hubspot" in out
    assert "rotated-key" not in out


def test_a_private_app_without_a_scope_fails_that_check(stack, tmp_path):
    portal = stack.hubspot
    token = stack.running["hubspot"].token
    portal.token_scopes[token] = {"crm.objects.contacts.read", "crm.objects.contacts.write",
                                  "crm.schemas.contacts.read", "crm.schemas.contacts.write"}
    try:
        code, out = doctor(tmp_path, env_for(stack.running))
    finally:
        del portal.token_scopes[token]

    assert code == 1, out
    assert "FAILED hubspot: owners (crm.objects.owners.read)" in out
    assert "needs scope crm.objects.owners.read" in out
    assert "ok     hubspot: token and contact search" in out
