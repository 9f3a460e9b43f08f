"""The observability tests reuse the workflow tests' worker harness and vendor emulators."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "temporal"))
