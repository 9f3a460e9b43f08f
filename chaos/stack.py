"""The real local stack as separate processes, so a scenario can SIGKILL or restart any one:
the Temporal dev server (SQLite file, restartable on the same database), the vendor emulators
(`python -m emulators.run_all`, steered through their /_emulator control endpoints), the worker
(`leadflow worker`) and the ingest service (`leadflow ingest`)."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from config.settings import Settings
from leadflow.stack import Ports, dev_server_command, wait_for_port

BIN = Path(sys.prefix) / "bin"
TASK_QUEUE = "chaos"
SECRETS = {
    "SEGMENT_WEBHOOK_SECRET": "chaos-segment-secret",
    "HUBSPOT_CLIENT_SECRET": "chaos-hubspot-secret",
    "SALESFORCE_WEBHOOK_SECRET": "chaos-salesforce-secret",
}


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


@dataclass
class Proc:
    """One process of the stack, in its own process group, logging to a file."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> Proc:
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(self.cmd, env=self.env, stdout=self._out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int, wait: float = 15) -> None:
        if not self.alive():
            return
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        if self._out:
            self._out.close()


class ChaosStack:
    def __init__(self, workdir: Path, first_port: int) -> None:
        self.dir = workdir
        self.ports = Ports(temporal=first_port, ui=first_port + 1,
                           emulators={"hubspot": first_port + 2, "salesforce": first_port + 3,
                                      "segment": first_port + 4})
        self.ingest_port = first_port + 5
        self.token = secrets.token_urlsafe(16)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_", "LEADFLOW_"))}
        self.env |= SECRETS | {
            "PYTHONUNBUFFERED": "1", "LEADFLOW_DATA_DIR": str(workdir),
            "LEADFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports.temporal}",
            "LEADFLOW_TASK_QUEUE": TASK_QUEUE, "LEADFLOW_INGEST_TOKEN": self.token,
            "LEADFLOW_INGEST_HOST": "127.0.0.1", "LEADFLOW_INGEST_PORT": str(self.ingest_port),
        }
        self.procs: dict[str, Proc] = {}

    # -- the parts -----------------------------------------------------------------------------

    @property
    def temporal_address(self) -> str:
        return self.env["LEADFLOW_TEMPORAL_ADDRESS"]

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    def emulator_url(self, vendor: str) -> str:
        scheme = "https" if vendor == "salesforce" else "http"
        return f"{scheme}://127.0.0.1:{self.ports.emulators[vendor]}"

    def settings(self) -> Settings:
        return Settings(_env_file=None, **{k: v for k, v in self.env.items()  # type: ignore[call-arg]
                                           if k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_",
                                                            "LEADFLOW_"))})

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.start_temporal()
        self._start_emulators()
        self.start_worker()
        self._start_ingest()

    def start_temporal(self) -> None:
        proc = self._proc("temporal", dev_server_command(self.dir, self.ports))
        wait_for_port(self.ports.temporal, proc.process, timeout=60)

    def _start_emulators(self) -> None:
        proc = self._proc("emulators", [sys.executable, "-m", "emulators.run_all",
                                        "--first-port", str(self.ports.emulators["hubspot"])])
        deadline = time.monotonic() + 60
        while "Ctrl-C to stop." not in proc.log.read_text():
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulators did not start: {proc.log.read_text()[-2000:]}")
            time.sleep(0.2)
        for line in proc.log.read_text().splitlines():
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").partition("=")
                self.env[key] = value
        from worker import connector_factory  # a new HubSpot portal lacks leadflow's properties
        connector_factory(self.settings())("hubspot", "demo_led").provision()

    def start_worker(self) -> None:
        self._proc("worker", [str(BIN / "leadflow"), "worker"])

    def _start_ingest(self) -> None:
        self._proc("ingest", [str(BIN / "leadflow"), "ingest"])
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.ingest_url}/healthz", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"ingest not healthy: {self.procs['ingest'].log.read_text()[-2000:]}")
            time.sleep(0.3)

    def _proc(self, name: str, cmd: list[str]) -> Proc:
        proc = Proc(name, cmd, dict(self.env), self.dir / f"{name}.log").start()
        self.procs[name] = proc
        return proc

    # -- faults --------------------------------------------------------------------------------

    def kill_worker(self) -> None:
        """SIGKILL: no clean shutdown, in-flight activities and tasks time out on the server."""
        self.procs["worker"].signal(signal.SIGKILL)

    def stop_temporal(self) -> None:
        self.procs["temporal"].signal(signal.SIGKILL)

    def vendor_faults(self, vendor: str, **spec: Any) -> None:
        """Plants faults through the emulator's own control endpoint (not part of the vendor)."""
        httpx.post(f"{self.emulator_url(vendor)}/_emulator/faults", json=spec, timeout=10,
                   verify=False).raise_for_status()

    def close(self) -> None:
        for name in ("ingest", "worker", "emulators", "temporal"):
            if name in self.procs:
                self.procs[name].stop()
