"""`leadflow up`: the whole local stack on one machine.

An embedded Temporal dev server (Web UI, search attributes registered, data in a file so
leads survive a restart), the vendor emulators for every vendor with no credentials
configured, and the workers. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from config.settings import Settings, load_settings
from emulators.run_all import DEFAULT_PORTS, env_for, run_all, stop_all
from workflows import search_attributes as sa


@dataclass(frozen=True)
class Ports:
    temporal: int = 7233
    ui: int = 8233
    emulators: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))


def temporal_binary() -> str:
    return str(Path(sys.prefix) / "bin" / "temporal")


def dev_server_command(data_dir: Path, ports: Ports) -> list[str]:
    cmd = [temporal_binary(), "server", "start-dev", "--db-filename", str(data_dir / "temporal.db"),
           "--port", str(ports.temporal), "--ui-port", str(ports.ui), "--log-level", "error"]
    for key in sa.REGISTERED_KEYS:
        kind = "Keyword" if key.value_type is str else "Int" if key.value_type is int else "Datetime"
        cmd += ["--search-attribute", f"{key.name}={kind}"]
    return cmd


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def missing_vendors(settings: Settings) -> dict[str, bool]:
    """Which vendors get a local emulator: those with no credentials configured."""
    return {
        "hubspot": settings.hubspot_access_token is None,
        "salesforce": not (settings.salesforce_username or settings.salesforce_session_id),
        "segment": settings.segment_write_key is None,
    }


def progress(message: str) -> None:
    print(f"leadflow up: {message}", flush=True)


def up(ports: Ports | None = None) -> None:
    ports = ports or Ports()
    settings = load_settings()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        progress("starting the Temporal dev server")
        server = subprocess.Popen(dev_server_command(data_dir, ports), start_new_session=True)
        stack.callback(_stop_process, server)
        wait_for_port(ports.temporal)
        emulated = [name for name, missing in missing_vendors(settings).items() if missing]
        if emulated:
            progress(f"starting emulators for {', '.join(emulated)} (no credentials configured)")
            running = run_all(**missing_vendors(settings), ports=ports.emulators)
            stack.callback(stop_all, running)
            os.environ.update(env_for(running))
            settings = load_settings()
            _provision(settings, running)
        os.environ["LEADFLOW_TEMPORAL_ADDRESS"] = f"127.0.0.1:{ports.temporal}"
        settings = load_settings()
        _print_where_to_look(settings, running if emulated else {}, ports)
        asyncio.run(_run_workers(settings))
    progress("stopped")


def _provision(settings: Settings, running: dict) -> None:  # type: ignore[type-arg]
    """An emulated HubSpot starts without leadflow's custom properties, as a new portal does."""
    if "hubspot" in running:
        from worker import connector_factory
        connector_factory(settings)("hubspot", settings.playbook).provision()


async def _run_workers(settings: Settings) -> None:
    from worker import run_workers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    progress("workers running; Ctrl-C stops everything")
    await run_workers(settings, stop)


def _print_where_to_look(settings: Settings, emulated: dict, ports: Ports) -> None:  # type: ignore[type-arg]
    print(f"""
  Temporal Web UI   http://127.0.0.1:{ports.ui}  (leads: LeadStage = 'MQL', SlaDueAt < "...")
  Temporal gRPC     {settings.temporal_address}   namespace {settings.temporal_namespace}
  Task queue        {settings.task_queue}   playbook {settings.playbook}
  Emulated vendors  {', '.join(f'{n} {e.url}' for n, e in emulated.items()) or 'none'}
  Data              {settings.data_dir.resolve()}

  Try: leadflow event ada@acme.io demo_requested && leadflow show ada@acme.io
""", flush=True)


def _stop_process(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
