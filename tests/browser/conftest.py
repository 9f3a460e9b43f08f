"""The browser tests drive the local stack the stack tests start (tests/stack/local_stack.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "stack"))
