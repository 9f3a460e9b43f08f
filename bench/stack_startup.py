"""How long a newcomer waits: `leadflow up` from command to "workers running", cold (new data
directory) and warm (second run on the same data), plain and with --demo; and how long Ctrl-C
takes to stop everything. Run: .venv/bin/python bench/stack_startup.py [--runs N]"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.local_stack import BIN, free_block  # noqa: E402


def start(data_dir: Path, demo: bool) -> tuple[subprocess.Popen[bytes], float, Path]:
    base = free_block(6)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBSPOT_", "SALESFORCE_", "SEGMENT_", "LEADFLOW_"))}
    env |= {"LEADFLOW_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    log = data_dir / f"bench-{time.monotonic_ns()}.log"
    args = [str(BIN / "leadflow"), "up", "--port", str(base), "--ui-port", str(base + 1),
            "--emulator-port", str(base + 2), "--metrics-port", str(base + 5)] + (["--demo"] if demo else [])
    began = time.monotonic()
    process = subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    while "workers running" not in log.read_text():
        if process.poll() is not None or time.monotonic() - began > 120:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    return process, time.monotonic() - began, log


def stop(process: subprocess.Popen[bytes]) -> float:
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    runs = parser.parse_args().runs
    figures: dict[str, list[float]] = {}
    for _ in range(runs):
        for demo in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                label = "demo" if demo else "plain"
                for phase in ("cold", "warm"):
                    process, ready, _ = start(Path(tmp), demo)
                    figures.setdefault(f"{label} {phase} start to ready", []).append(ready)
                    figures.setdefault(f"{label} Ctrl-C to stopped", []).append(stop(process))
    for name, values in figures.items():
        print(f"{name:32} median {statistics.median(values):6.2f} s  "
              f"min {min(values):6.2f} s  max {max(values):6.2f} s  (n={len(values)})")


if __name__ == "__main__":
    main()
