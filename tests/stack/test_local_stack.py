"""The README's run command, as a newcomer uses it: `leadflow up`, then drive a lead from a shell."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from leadflow.stack import process_alive
from tests.support.local_stack import BIN, Stack


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    yield running
    running.close()


def test_run_command_starts_a_stack_where_a_lead_moves_through_stages(stack):
    stack.start()
    output = stack.log.read_text()
    assert f"http://127.0.0.1:{stack.ui_port}" in output and "hubspot http://127.0.0.1" in output
    schedules = subprocess.run([str(BIN / "temporal"), "schedule", "list", "--address",
                                f"127.0.0.1:{stack.port}"], capture_output=True, text=True)
    assert "leadflow-reconcile" in schedules.stdout, schedules.stderr

    sent = stack.leadflow("event", "ada@acme.io", "demo_requested", "--prop", "company=Acme")
    assert sent.returncode == 0, sent.stderr
    refused = stack.leadflow("command", "ada@acme.io", "confirm_sql")
    assert refused.returncode == 1 and "missing use_case, timeline" in refused.stderr
    done = stack.leadflow("command", "ada@acme.io", "confirm_sql", "--prop", "use_case=x",
                          "--prop", "timeline=Q3")
    assert done.returncode == 0 and json.loads(done.stdout)["stage"] == "SQL"

    url = (f"http://127.0.0.1:{stack.emulator_port}/crm/v3/objects/contacts/ada@acme.io"
           "?idProperty=email&properties=lead_stage")
    request = urllib.request.Request(url, headers={"Authorization": "Bearer pat-emulator-token"})
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(request) as response:
            if json.load(response)["properties"].get("lead_stage") == "SQL":
                break
        assert time.monotonic() < deadline
        time.sleep(0.3)

    # The ingest API runs in the stack too, with the token it keeps in the data directory.
    token = (stack.log.parent / "ingest-token").read_text().strip()
    body = {"events": [{"event_id": "web-1", "email": "bob@acme.io", "name": "Demo Requested",
                        "occurred_at": "2026-11-23T09:00:00Z", "properties": {}}]}
    posted = urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{stack.ingest_port}/v1/events", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}))
    assert posted.status == 202
    bob = stack.leadflow("show", "bob@acme.io")
    assert bob.returncode == 0 and json.loads(bob.stdout)["stage"] == "MQL", bob.stderr

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.metrics_port}/metrics").read().decode()
    assert any(line.startswith("leadflow_stage_transitions{") and 'to_stage="SQL"' in line
               for line in metrics.splitlines()), metrics
    assert 'leadflow_vendor_syncs{' in metrics and 'vendor="hubspot"' in metrics

    server_pid = int((stack.log.parent / "temporal.pid").read_text())
    assert stack.stop() == 0
    assert not process_alive(server_pid), "Ctrl-C left the Temporal dev server running"
    assert "stopping workers" in stack.log.read_text()
    stack.start()  # a second run reuses the data: the lead is still there
    shown = stack.leadflow("show", "ada@acme.io")
    assert shown.returncode == 0 and json.loads(shown.stdout)["stage"] == "SQL"
    assert stack.stop() == 0


def test_a_second_run_is_refused_and_a_run_killed_outright_is_cleaned_up_by_the_next(stack):
    stack.start()
    first_server = int((stack.log.parent / "temporal.pid").read_text())
    assert stack.process is not None
    # Same data directory, other ports: refused, and the first run is untouched.
    other = [str(port + 100) for port in (stack.port, stack.ui_port, stack.emulator_port, stack.metrics_port)]
    refused = stack.leadflow("up", "--port", other[0], "--ui-port", other[1], "--emulator-port", other[2],
                             "--metrics-port", other[3])
    assert refused.returncode == 1 and "another `leadflow up`" in refused.stderr, refused.stderr
    assert Path(f"/proc/{first_server}").exists()

    stack.process.kill()  # no chance to clean up: the dev server is orphaned
    stack.process.wait()
    assert Path(f"/proc/{first_server}").exists()
    stack.start()
    assert "stopping a dev server left running by an earlier run" in stack.log.read_text()
    assert not process_alive(first_server)
    assert stack.stop() == 0
