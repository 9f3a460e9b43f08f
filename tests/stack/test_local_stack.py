"""The README's run command, as a newcomer uses it: `leadflow up`, then drive a lead from a shell."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.prefix) / "bin"


def free_block(size: int) -> int:
    """A first port with `size` free ports after it."""
    for _ in range(100):
        first = random.randint(20000, 40000)
        try:
            for port in range(first, first + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no free port block")


class Stack:
    def __init__(self, data_dir: Path) -> None:
        base = free_block(6)
        self.port, self.ui_port, self.emulator_port = base, base + 1, base + 2
        self.metrics_port = base + 5
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_", "LEADFLOW_"))}
        self.env |= {"LEADFLOW_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                     "LEADFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}"}
        self.log = data_dir / "up.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []

    def start(self) -> None:
        ready_before = self.log.read_text().count("workers running") if self.log.exists() else 0
        self.process = subprocess.Popen(
            [str(BIN / "leadflow"), "up", "--port", str(self.port), "--ui-port", str(self.ui_port),
             "--emulator-port", str(self.emulator_port), "--metrics-port", str(self.metrics_port),
             *self.extra_args],
            env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.log.read_text().count("workers running") == ready_before:
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.3)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)

    def leadflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "leadflow"), *args], env=self.env, capture_output=True,
                              text=True, timeout=60)


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()


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
