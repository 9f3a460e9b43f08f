"""Log output for every leadflow process: one JSON object a line in production, readable text locally.

`LEADFLOW_LOG_FORMAT=json` is for log shippers (every record carries time, level, logger, message
and any `extra=` fields); anything else gives lines a person reads in a terminal.

At INFO and above no line names a person: every email-shaped string (a lead's, or a workflow id
`lead:<email>` that the Temporal SDK puts in its activity and workflow log context) is written
as `<email>`. DEBUG keeps them, for a developer's own machine.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def redact(text: str) -> str:
    """`text` with every email-shaped string written as `<email>`."""
    return EMAIL.sub("<email>", text)


class Redacting(logging.Formatter):
    """Formats with `inner`, then hides emails in whatever it wrote (message, extras, traceback)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        return line if record.levelno < logging.INFO else redact(line)


def configure(log_format: str = "text", level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Sends the root logger to `stream` (stderr) in the chosen format, replacing earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Redacting(JsonFormatter() if log_format.lower() == "json"
                                   else logging.Formatter(TEXT_FORMAT, datefmt="%H:%M:%S")))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
