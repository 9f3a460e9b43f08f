"""One normal form for a lead's email, shared by ingest, the CLI and LeadClient (issue 14)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leadflow.cli import app
from lifecycle.events import MAX_EMAIL_LENGTH, normalize_email

BAD = ["ada\x00@acme.io", "a\u200bda@acme.io", "ada@ac\u200bme.io", "\u202eada@acme.io", "ada@acme.io\n",
       "ada@acme.io\r\n", "ad a@acme.io", "ada@acme", "no-at", "", "a@b@c.io", "ada@acme..io",
       "a" * (MAX_EMAIL_LENGTH - 7) + "@acme.io"]


@pytest.mark.parametrize("email", BAD)
def test_refused(email):
    with pytest.raises(ValueError, match="not an email address"):
        normalize_email(email)


@pytest.mark.parametrize(("given", "normal"), [
    ("Ada@ACME.io", "ada@acme.io"), ("  ada@acme.io ", "ada@acme.io"),
    ("ada+trial@sub.acme.co.uk", "ada+trial@sub.acme.co.uk"),
    ("ADA@BÜCHER.de", "ada@bücher.de"), ("ada@bu\u0308cher.de", "ada@bücher.de"),  # NFC
    ("a" * (MAX_EMAIL_LENGTH - 8) + "@acme.io", "a" * (MAX_EMAIL_LENGTH - 8) + "@acme.io"),
])
def test_one_normal_form(given, normal):
    assert normalize_email(given) == normal
    assert normalize_email(normal) == normal


def test_the_cli_refuses_a_bad_email_before_it_reaches_temporal(monkeypatch):
    monkeypatch.setenv("LEADFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    result = CliRunner().invoke(app, ["event", "ada\u200b@acme.io", "demo_requested"])
    assert result.exit_code == 2 and "not an email address" in result.output, result.output
    assert "cannot reach Temporal" not in result.output
