"""The dev server's own output reaches `leadflow up`'s log without a person's email: its error lines
name workflows (`wf-id=lead:<email>`), e.g. when a task queue closes under an in-flight task at
shutdown (seen in tests/stack/test_local_stack_logs.py)."""

from __future__ import annotations

import io

from leadflow.stack import _relay_redacted

LINE = ('time=2026-11-30T21:11:51.000 level=ERROR msg="Fail to process task" '
        'wf-id=lead:grace.hopper@navy-compilers.io wf-run-id=515d958f error="task queue closed"\n')


def test_dev_server_lines_are_relayed_without_emails(capsys):
    _relay_redacted(io.StringIO(LINE + "ready\n"))
    err = capsys.readouterr().err
    assert "grace.hopper" not in err and "navy-compilers.io" not in err
    assert 'wf-id=lead:<email> wf-run-id=515d958f error="task queue closed"' in err
    assert err.endswith("ready\n")
