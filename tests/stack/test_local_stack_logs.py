"""The stack's logs after a run with known people and secrets: no email, name, company, token or
key material appears in a line at INFO or above (the stack logs at INFO)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from privacy.keys import new_key_entry
from tests.support.local_stack import Stack

KEY = new_key_entry("logs-test")
SECRETS = {"LEADFLOW_INGEST_TOKEN": "ingest-secret-7f3a", "LEADFLOW_CODEC_TOKEN": "codec-secret-91bc",
           "LEADFLOW_ENCRYPTION_KEYS": KEY, "HUBSPOT_CLIENT_SECRET": "hubspot-app-secret-55d1"}
PEOPLE = {"ada.lovelace@analytical.io": ("Ada Lovelace", "Analytical Engines Ltd"),
          "grace.hopper@navy-compilers.io": ("Grace Hopper", "Navy Compilers Inc")}


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    running.env |= SECRETS
    yield running
    running.close()


def post(url: str, body: object, token: str) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return answer.status


def test_a_run_with_known_people_and_secrets_logs_none_of_them(stack):
    stack.start()
    hubspot = f"http://127.0.0.1:{stack.emulator_port}"
    # HubSpot refuses the next writes: activities fail, and the SDK logs them with their workflow id
    # (lead:<email>) and leadflow's error message (which names the email).
    post(f"{hubspot}/_emulator/faults", {"fail_next": 30, "status": 400}, "unused")
    (ada, (ada_name, ada_company)), (grace, (grace_name, grace_company)) = PEOPLE.items()
    sent = stack.leadflow("event", ada, "demo_requested", "--prop", f"name={ada_name}",
                          "--prop", f"company={ada_company}")
    assert sent.returncode == 0, sent.stderr
    event = {"event_id": "web-1", "email": grace, "name": "Demo Requested",
             "occurred_at": "2026-11-23T09:00:00Z",
             "properties": {"name": grace_name, "company": grace_company}}
    ingest = f"http://127.0.0.1:{stack.ingest_port}/v1/events"
    assert post(ingest, {"events": [event]}, SECRETS["LEADFLOW_INGEST_TOKEN"]) == 202
    assert stack.leadflow("show", grace).returncode == 0
    forgot = stack.leadflow("forget", ada)
    assert forgot.returncode == 0 and "data key deleted" in forgot.stdout, forgot.stdout + forgot.stderr
    later = dict(event, event_id="web-2", email=ada)
    assert post(ingest, {"events": [later]}, SECRETS["LEADFLOW_INGEST_TOKEN"]) == 202
    assert stack.stop() == 0

    log = stack.log.read_text()
    for person, (name, company) in PEOPLE.items():
        for value in (person, person.split("@")[0], name, company):
            assert value not in log, f"{value!r} is in the stack's log"
    for variable, secret in SECRETS.items():
        for value in {secret, secret.split(":", 1)[-1]}:
            assert value not in log, f"{variable} is in the stack's log"
    assert "Completing activity as failed" in log and "<email>" in log  # the lines were there
