"""`leadflow up` as a subprocess on free ports with its own data directory, for the stack and
browser tests (a module with a unique name, importable from tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chaos.stack import free_block

BIN = Path(sys.prefix) / "bin"


class Stack:
    def __init__(self, data_dir: Path) -> None:
        base = free_block(7)
        self.port, self.ui_port, self.emulator_port = base, base + 1, base + 2
        self.metrics_port, self.ingest_port = base + 5, base + 6
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
             "--ingest-port", str(self.ingest_port),
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

    def close(self) -> None:
        """Whatever a test left running: Ctrl-C first, then the hard way (dev server included)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        pidfile = self.log.parent / "temporal.pid"
        if pidfile.exists():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
