"""Log lines: one JSON object each in production, readable text locally."""

from __future__ import annotations

import io
import json
import logging

from leadflow.logs import configure


def test_json_format_gives_one_parseable_object_per_record_with_extra_fields():
    out = io.StringIO()
    configure("json", stream=out)
    logging.getLogger("leadflow.worker").info("synced %s", "ada@acme.io", extra={"vendor": "hubspot"})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("leadflow.worker").exception("sync failed")
    first, second = (json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{"))
    assert first["message"] == "synced ada@acme.io" and first["vendor"] == "hubspot"
    assert first["level"] == "info" and first["logger"] == "leadflow.worker" and "T" in first["time"]
    assert second["level"] == "error" and "ValueError: boom" in second["exception"]


def test_text_format_is_one_readable_line():
    out = io.StringIO()
    configure("text", stream=out)
    logging.getLogger("leadflow.stack").warning("emulating %s", "hubspot")
    line = out.getvalue().strip()
    assert line.endswith("WARNING leadflow.stack: emulating hubspot") and not line.startswith("{")
