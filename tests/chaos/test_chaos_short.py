"""The short chaos run (chaos/, `python -m chaos --short`) as part of `make test`: the real stack
as separate processes, a bad-input fuzz, SIGKILLs of the worker mid-sync and a Temporal restart;
nothing acknowledged lost or applied twice, no 5xx, every lead in step in every vendor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.timeout(900)
def test_the_short_chaos_run_passes(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "chaos", "--short", "--dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=840)
    print(run.stdout)
    lines = [line for line in run.stdout.splitlines() if "acknowledged=" in line]
    assert run.returncode == 0 and lines, run.stdout + run.stderr[-3000:]
    assert all(" ok " in line for line in lines), run.stdout
