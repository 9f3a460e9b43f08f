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
    assert first["message"] == "synced <email>" and first["vendor"] == "hubspot"  # no person at INFO
    assert first["level"] == "info" and first["logger"] == "leadflow.worker" and "T" in first["time"]
    assert second["level"] == "error" and "ValueError: boom" in second["exception"]


def test_text_format_is_one_readable_line():
    out = io.StringIO()
    configure("text", stream=out)
    logging.getLogger("leadflow.stack").warning("emulating %s", "hubspot")
    line = out.getvalue().strip()
    assert line.endswith("WARNING leadflow.stack: emulating hubspot") and not line.startswith("{")


def test_no_email_reaches_a_log_line_at_info_or_above_but_debug_keeps_them():
    out = io.StringIO()
    configure("json", stream=out, level=logging.DEBUG)
    log = logging.getLogger("temporalio.activity")
    log.warning("Completing activity as failed (%s)", {"workflow_id": "lead:Ada.L+x@acme.co.uk"},
                extra={"workflow_id": "lead:ada@acme.io"})
    try:
        raise ValueError("hubspot refused grace@navy.mil")
    except ValueError:
        log.exception("sync failed")
    log.debug("decoded lead:ada@acme.io")
    lines = out.getvalue().splitlines()
    assert "@" not in lines[0] + lines[1] and "<email>" in lines[0] and "<email>" in lines[1]
    assert "lead:ada@acme.io" in lines[2]
