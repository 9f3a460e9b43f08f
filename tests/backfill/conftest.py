"""Backfill and reconcile on the dev server, against the vendor emulators (rate limits on)."""

from __future__ import annotations

import pytest

# The shared harness (workers, emulators) lives with the lead workflow tests.
from tests.support.vendor_stack import vendor_stack


@pytest.fixture(scope="module")
def stack():  # type: ignore[no-untyped-def]
    with vendor_stack() as running:
        yield running
