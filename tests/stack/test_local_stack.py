"""The README's run command, as a newcomer uses it: `leadflow up`, then drive a lead from a shell."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from local_stack import Stack


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    yield running
    running.close()


def test_run_command_starts_a_stack_where_a_lead_moves_through_stages(stack):
    stack.start()
    output = stack.log.read_text()
    assert f"http://127.0.0.1:{stack.ui_port}" in output and "hubspot http://127.0.0.1" in output

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

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.metrics_port}/metrics").read().decode()
    assert any(line.startswith("leadflow_stage_transitions{") and 'to_stage="SQL"' in line
               for line in metrics.splitlines()), metrics
    assert 'leadflow_vendor_syncs{' in metrics and 'vendor="hubspot"' in metrics

    server_pid = int((stack.log.parent / "temporal.pid").read_text())
    assert stack.stop() == 0
    assert not Path(f"/proc/{server_pid}").exists(), "Ctrl-C left the Temporal dev server running"
    assert "stopping workers" in stack.log.read_text()
    stack.start()  # a second run reuses the data: the lead is still there
    shown = stack.leadflow("show", "ada@acme.io")
    assert shown.returncode == 0 and json.loads(shown.stdout)["stage"] == "SQL"
    assert stack.stop() == 0
