"""`leadflow up`: the whole local stack on one machine.

An embedded Temporal dev server (Web UI, search attributes registered, data in a file so
leads survive a restart), the vendor emulators for every vendor with no credentials
configured, and the workers. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import Settings, load_settings
from emulators.run_all import DEFAULT_PORTS, env_for, run_all, stop_all
from leadflow.heap import limit_malloc_arenas
from leadflow.logs import configure as configure_logs
from leadflow.logs import redact
from workflows import search_attributes as sa


@dataclass(frozen=True)
class Ports:
    temporal: int = 7233
    ui: int = 8233
    emulators: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    metrics: int = 9464
    ingest: int | None = None  # None: LEADFLOW_INGEST_PORT
    codec: int | None = None  # None: LEADFLOW_CODEC_PORT


@dataclass(frozen=True)
class Service:
    """A long-running part of the stack: runs until `stop` is set, then returns."""
    name: str
    run: Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class StartupTask:
    """A one-off step against Temporal once the server is up (schedules, namespaces...)."""
    name: str
    run: Callable[[Any, Settings], Awaitable[Any]]  # (temporalio Client, settings)


def services() -> list[Service]:
    """What `leadflow up` runs next to the Temporal dev server and the emulators: one line each."""
    from ingest.server import run_ingest
    from privacy.codec_server import run_codec_server
    from worker import run_workers

    return [
        Service("workers", run_workers),
        Service("ingest service", run_ingest),
        Service("codec server", run_codec_server),
    ]


def startup_tasks() -> list[StartupTask]:
    """Applied once Temporal is up, before the services start: one line each."""
    from leadflow.schedules import apply_schedules

    return [StartupTask("reconcile schedule", apply_schedules)]


def temporal_binary() -> str:
    return str(Path(sys.prefix) / "bin" / "temporal")


# A dev server is one process, so one matching host: the four partitions a task queue gets by
# default (`matching.numTaskqueueWritePartitions`, in the server's common/dynamicconfig/
# constants.go) only spread its tasks over that one host, and forward tasks and polls between
# partitions whenever a poller waits on another (temporalio/temporal,
# docs/architecture/matching-service.md). New tasks go to one partition; all four are still read,
# so tasks an older server wrote to the others are not stranded (lower read partitions only
# after those drain, the order Temporal documents). bench/ingest_latency.py at 20 new MQLs a
# second on two cores, p99 in interleaved runs: 2.1-5.4 s with four partitions against 2.0-2.2 s
# with one read and one written (six pairs); 1.43-1.45 s reading four and writing one against
# 1.46-1.89 s with one of each (two pairs).
# deploy/dynamicconfig.yaml sets the same for the compose file's one server; the benches too.
DEV_SERVER_TUNING = ["--dynamic-config-value", "matching.numTaskqueueWritePartitions=1"]


def dev_server_command(data_dir: Path, ports: Ports, codec_endpoint: str | None = None) -> list[str]:
    """`codec_endpoint`: where the Web UI decodes payloads (the codec server, token in the path:
    the dev server's UI cannot send an Authorization header)."""
    cmd = [temporal_binary(), "server", "start-dev", "--db-filename", str(data_dir / "temporal.db"),
           "--port", str(ports.temporal), "--ui-port", str(ports.ui), "--log-level", "error",
           *DEV_SERVER_TUNING]
    if codec_endpoint:
        cmd += ["--ui-codec-endpoint", codec_endpoint]
    for key in sa.REGISTERED_KEYS:
        kind = "Keyword" if key.value_type is str else "Int" if key.value_type is int else "Datetime"
        cmd += ["--search-attribute", f"{key.name}={kind}"]
    return cmd


def _relay_redacted(lines: Any) -> None:
    """The dev server's output, line by line, onto the stack's stderr without any email."""
    for line in lines:
        sys.stderr.write(redact(line))
        sys.stderr.flush()


def wait_for_port(port: int, process: subprocess.Popen | None = None,  # type: ignore[type-arg]
                  timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with {process.returncode} "
                               f"(is port {port} taken by another `leadflow up`?)")
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


def up(ports: Ports | None = None, demo: bool = False) -> None:
    limit_malloc_arenas()  # before the emulators, the workers and the Temporal runtime start threads
    ports = ports or Ports()
    # SIGTERM before the event loop takes over still runs the clean-up below.
    signal.signal(signal.SIGTERM, _interrupt)
    settings = load_settings()
    configure_logs(settings.log_format)
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = _local_privacy(settings, data_dir, ports)
    codec_endpoint = (f"http://127.0.0.1:{settings.codec_port}/"
                      f"{settings.codec_token.get_secret_value() if settings.codec_token else ''}")
    try:
        with ExitStack() as stack:
            progress(f"starting the Temporal dev server (data in {data_dir / 'temporal.db'})")
            _stop_leftover(data_dir / "temporal.pid")
            # Its error lines can name a workflow (`wf-id=lead:<email>`, e.g. a task queue closed
            # under an in-flight task at shutdown): they reach the stack's log redacted.
            server = subprocess.Popen(dev_server_command(data_dir, ports, codec_endpoint),
                                      start_new_session=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, errors="replace")
            threading.Thread(target=_relay_redacted, args=(server.stdout,), daemon=True).start()
            (data_dir / "temporal.pid").write_text(str(server.pid))
            stack.callback(_stop_process, server, data_dir / "temporal.pid")
            wait_for_port(ports.temporal, server)
            progress(f"Temporal dev server ready on 127.0.0.1:{ports.temporal}")
            running: dict[str, Any] = {}
            # What the stack decides is handed to its services as a Settings copy; the
            # process environment is left as the operator set it.
            chosen: dict[str, str] = {}
            emulated = [name for name, missing in missing_vendors(settings).items() if missing]
            if emulated:
                progress(f"starting emulators for {', '.join(emulated)} (no credentials configured)")
                running = run_all(**missing_vendors(settings), ports=ports.emulators)
                stack.callback(stop_all, running)
                chosen |= env_for(running)
                _provision(Settings(**chosen), running)  # type: ignore[arg-type]
            chosen["LEADFLOW_TEMPORAL_ADDRESS"] = f"127.0.0.1:{ports.temporal}"
            if settings.metrics_port is None:
                chosen["LEADFLOW_METRICS_PORT"] = str(ports.metrics)
            if ports.ingest is not None:
                chosen["LEADFLOW_INGEST_PORT"] = str(ports.ingest)
            if settings.ingest_token is None:
                chosen["LEADFLOW_INGEST_TOKEN"] = _local_ingest_token(data_dir)
            settings = Settings(**chosen)  # type: ignore[arg-type]  # the environment (.env) for the rest
            _print_where_to_look(settings, running, ports)
            asyncio.run(_run_services(settings, demo))
    except KeyboardInterrupt:
        pass
    progress("stopped")


def _local_ingest_token(data_dir: Path) -> str:
    """A bearer token for the local ingest service, kept in the data dir (never printed)."""
    return _local_secret(data_dir / "ingest-token", lambda: secrets.token_urlsafe(24))


def _local_secret(path: Path, make: Callable[[], str]) -> str:
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _local_privacy(settings: Settings, data_dir: Path, ports: Ports) -> Settings:
    """The local stack encrypts payloads (a master key kept in the data dir unless
    LEADFLOW_ENCRYPTION_KEYS is set) and runs the codec server its Web UI decodes through."""
    from privacy.converter import LOCAL_KEYS_FILE
    from privacy.keys import new_key_entry

    if settings.encryption_keys is None:  # other local processes read the same file (privacy/converter.py)
        _local_secret(data_dir / LOCAL_KEYS_FILE, lambda: new_key_entry("local"))
    if settings.codec_token is None:
        os.environ["LEADFLOW_CODEC_TOKEN"] = _local_secret(
            data_dir / "codec-token", lambda: secrets.token_urlsafe(24))
    if ports.codec is not None:
        os.environ["LEADFLOW_CODEC_PORT"] = str(ports.codec)
    if "LEADFLOW_CODEC_CORS_ORIGINS" not in os.environ:
        os.environ["LEADFLOW_CODEC_CORS_ORIGINS"] = f"http://127.0.0.1:{ports.ui},http://localhost:{ports.ui}"
    return load_settings()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _provision(settings: Settings, running: dict) -> None:  # type: ignore[type-arg]
    """An emulated HubSpot starts without leadflow's custom properties, as a new portal does."""
    if "hubspot" in running:
        from worker import connector_factory
        connector_factory(settings)("hubspot", settings.playbook).provision()


async def _run_services(settings: Settings, demo: bool) -> None:
    """Startup tasks, then every service until Ctrl-C/SIGTERM or until one of them fails."""
    from config.temporal import connect

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect(settings)
    try:
        for task in startup_tasks():
            progress(f"applying {task.name}")
            await task.run(client, settings)
        running: dict[str, asyncio.Task[None]] = {}
        for service in services():
            progress(f"starting {service.name}")
            running[service.name] = asyncio.create_task(service.run(settings, stop))
        if demo:
            await _seed_demo(client, settings)
        progress("workers running; Ctrl-C stops everything")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *running.values()], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        progress("stopping " + ", ".join(running))
        outcomes = await asyncio.gather(*running.values(), return_exceptions=True)
        failed = [f"{name}: {outcome}" for name, outcome in zip(running, outcomes, strict=True)
                  if isinstance(outcome, BaseException)]
        if failed:
            raise RuntimeError("failed: " + "; ".join(failed))
    finally:
        del client  # a Temporal client alive at interpreter exit can abort it (sdk-python#300)
        gc.collect()
        await asyncio.sleep(0.1)


async def _seed_demo(client: Any, settings: Settings) -> None:
    from leadflow.demo import DEMO_LEADS, seed

    progress(f"seeding {len(DEMO_LEADS)} demo leads across demo_led, trial_led and high_touch")
    seeded, skipped = await seed(client, settings.task_queue)
    progress(f"demo: {seeded} leads driven" + (f", {skipped} already there" if skipped else ""))


def _print_where_to_look(settings: Settings, emulated: dict, ports: Ports) -> None:  # type: ignore[type-arg]
    print(f"""
  Temporal Web UI   http://127.0.0.1:{ports.ui}  (leads: LeadStage = 'MQL', SlaDueAt < "...")
  Temporal gRPC     {settings.temporal_address}   namespace {settings.temporal_namespace}
  Task queue        {settings.task_queue}   playbook {settings.playbook}
  Emulated vendors  {', '.join(f'{n} {e.url}' for n, e in emulated.items()) or 'none'}
  Metrics           http://{settings.metrics_host}:{settings.metrics_port}/metrics  (SDK + leadflow_*)
  Ingest API        http://{settings.ingest_host}:{settings.ingest_port}/openapi.json  (bearer token in
                    {settings.data_dir.resolve() / 'ingest-token'} unless LEADFLOW_INGEST_TOKEN is set)
  Codec server      http://{settings.codec_host}:{settings.codec_port}  (the Web UI decodes payloads here;
                    token in {settings.data_dir.resolve() / 'codec-token'} unless LEADFLOW_CODEC_TOKEN is set)
  Data              {settings.data_dir.resolve()}

  Try: leadflow event ada@acme.io demo_requested && leadflow show ada@acme.io
""", flush=True)


def _stop_process(process: subprocess.Popen, pidfile: Path | None = None) -> None:  # type: ignore[type-arg]
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if pidfile is not None:
        pidfile.unlink(missing_ok=True)


def _stop_leftover(pidfile: Path) -> None:
    """A dev server left running by a `leadflow up` that was killed outright holds the database:
    stop it. One whose `leadflow up` is still alive belongs to another run: refuse to start."""
    try:
        pid = int(pidfile.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        parent_cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return
    if b"start-dev" not in cmdline:
        return
    if b"leadflow" in parent_cmdline and b"up" in parent_cmdline.split(b"\0"):
        raise RuntimeError(f"another `leadflow up` (pid {parent}) is using {pidfile.parent}; "
                           "stop it first or set LEADFLOW_DATA_DIR to another directory")
    progress(f"stopping a dev server left running by an earlier run (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def process_alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie its new parent has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
