"""Fixtures for the HubSpot tests: a live emulator on loopback and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from connectors.hubspot import HubSpotConnector
from emulators.hubspot import Running, start
from tests.support.hs_helpers import connector_for


@pytest.fixture
def hub_factory() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(**options: object) -> Running:
        running = start(**options)  # type: ignore[arg-type]
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def hub(hub_factory: Callable[..., Running]) -> Running:
    return hub_factory()


@pytest.fixture
def provisioned(hub: Running) -> Running:
    """A portal where leadflow's custom properties already exist."""
    hub.state.provision_custom()
    return hub


@pytest.fixture
def connector(hub: Running) -> HubSpotConnector:
    return connector_for(hub)
