"""The benchmarks' short versions: each one under bench/ runs as `make bench` runs it, at a size of
seconds, and prints its figures (CI keeps them from rotting; `make bench` prints the real ones).
Left out: bench/scale.py waits about a minute and a half for its aligned SLA timers at any size,
bench/stack_startup.py starts the whole stack three times; `make bench` runs both."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (command, what the output must show: a figure a reader of the bench looks for)
SHORT = {
    "ingest_latency": (["--rate", "4", "--seconds", "3", "--timeout", "60"], [
        r"request -> stage in all 3 vendors\s+n=12 ",
        r"HubSpot 429s\s+0\n",
        r"not visible everywhere in time\s+0 within",
        r"Temporal floor, 'lead' shape: 12 skeletons at 4/s",
        r"Temporal floor, 'lanes' shape: 12 skeletons at 4/s",
    ]),
    "backfill": (["--n", "60", "--timeout", "60"], [
        r"lead workflows\s+60 running in their stage",
        r"HubSpot 429s: 0",
        r"backfill end to end / trivial = \d+%",
    ]),
    "routing_assignments": (["--leads", "40", "--concurrency", "10"], [r"split\s+\{"]),
    "codec_overhead": (["--n", "100"], [r"encrypted, lead key cached\s+encode"]),
    "decide_flood": (["200"], [r"200 events in [\d.]+s"]),
    "dedup_window": ([], [r"10000\s+[\d.]+ KB"]),
    "ledger_bench": (["--leads", "20"], [r"load \+ report:\s+\d+ ms for \d+ facts, 20 leads"]),
}


@pytest.mark.parametrize("name", sorted(SHORT))
def test_a_bench_runs_short_and_prints_its_figures(name):
    args, shows = SHORT[name]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in shows:
        assert re.search(pattern, done.stdout), f"{name}: no /{pattern}/ in:\n{done.stdout[-3000:]}"
