"""Fixtures for the Segment tests: a live emulator on loopback and connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import emulators.segment as segment_emulator
from connectors.base import LeadSnapshot
from connectors.segment import SegmentConnector

STAGE_FIELDS = {"MQL": {"lifecycle": "mql"}, "SQL": {"lifecycle": "sql"}}


@pytest.fixture
def emulator() -> Iterator[segment_emulator.Running]:
    with segment_emulator.start() as running:
        yield running


@pytest.fixture
def make_connector(
    emulator: segment_emulator.Running,
) -> Iterator[Callable[..., SegmentConnector]]:
    made: list[SegmentConnector] = []

    def make(write_key: str | None = None, **options: Any) -> SegmentConnector:
        conn = SegmentConnector(
            write_key or emulator.write_key, emulator.url, STAGE_FIELDS, **options
        )
        made.append(conn)
        return conn

    yield make
    emulator.state.faults.clear()
    for conn in made:
        conn.close()


@pytest.fixture
def connector(make_connector: Callable[..., SegmentConnector]) -> SegmentConnector:
    return make_connector()


def _lead(i: int, **changes: Any) -> LeadSnapshot:
    fields: dict[str, Any] = {
        "email": f"Lead{i}@Example.com",
        "stage": "MQL",
        "previous_stage": "Lead",
        "cause": "score_threshold",
        "score": 40 + i,
        "owner_id": f"owner-{i % 3}",
        "properties": {"company": f"Acme {i}"},
    }
    return LeadSnapshot(**(fields | changes))


@pytest.fixture
def make_lead() -> Callable[..., LeadSnapshot]:
    """Lead number i, MQL after a score change, with per-lead values so mix-ups show."""
    return _lead
