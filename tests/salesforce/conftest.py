"""Fixtures: one TLS Salesforce emulator per module (reset per test), connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from simple_salesforce import Salesforce

from connectors.salesforce import SalesforceConnector
from emulators import salesforce as sf_emulator
from tests.support.sf_helpers import make_connector


@pytest.fixture(scope="module")
def emulator() -> Iterator[sf_emulator.Running]:
    with sf_emulator.start() as running:
        yield running


@pytest.fixture
def org(emulator: sf_emulator.Running) -> sf_emulator.Running:
    emulator.state.reset()
    emulator.state.expire_sessions()
    emulator.state.query_batch_size = 2000
    return emulator


@pytest.fixture
def connector(org: sf_emulator.Running) -> SalesforceConnector:
    return make_connector(org)


@pytest.fixture
def raw_client(org: sf_emulator.Running) -> Callable[[], Salesforce]:
    """A plain simple-salesforce client, logged in by hand the way the connector does it."""

    def build() -> Salesforce:
        session = requests.Session()
        session.trust_env = False
        session.verify = org.ca_path
        c = org.credentials
        token = session.post(f"{org.url}/services/oauth2/token", data={
            "grant_type": "password", "client_id": c["client_id"],
            "client_secret": c["client_secret"], "username": c["username"],
            "password": c["password"] + c["security_token"],
        }, timeout=10).json()
        return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                          session=session)

    return build
