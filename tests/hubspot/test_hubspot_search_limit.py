"""CRM search has its own limit: 4 requests per second per token, outside the ten-second window
(HubSpot changelog "CRM Search API Rate Limit Increase"). The emulator enforces it; the
connector paces search per token across the connectors of a process and backs off on 429s
caused by other processes sharing the token."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException

from emulators.hubspot import Running
from tests.support.hs_helpers import connector_for

SEARCH = "POST /crm/v3/objects/contacts/search"


def test_search_has_its_own_per_token_second(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(rate_limit_max=2)
    search = HubSpot(access_token=hub.token, host=hub.url).crm.contacts.search_api
    for _ in range(4):
        search.do_search(PublicObjectSearchRequest(limit=1))
    with pytest.raises(ApiException) as caught:
        search.do_search(PublicObjectSearchRequest(limit=1))

    assert caught.value.status == 429
    assert '"policyName":"SECONDLY"' in caught.value.body.replace(" ", "")
    assert "X-HubSpot-RateLimit-Remaining" not in (caught.value.headers or {})
    # Four searches did not touch the ten-second window of 2 requests.
    auth = {"Authorization": f"Bearer {hub.token}"}
    owners = [requests.get(f"{hub.url}/crm/v3/owners", headers=auth, timeout=5).status_code
              for _ in range(2)]
    assert owners == [200, 200]


def test_connectors_sharing_a_token_share_its_search_pace(hub: Running) -> None:
    hub.state.provision_custom()
    since = datetime.now(UTC) - timedelta(minutes=5)
    connectors = [connector_for(hub), connector_for(hub)]  # e.g. two playbooks in one worker

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: connectors[i % 2].count_changed(since), range(12)))
    elapsed = time.monotonic() - started

    assert hub.state.count(SEARCH) == 12 and hub.state.statuses[429] == 0
    assert elapsed >= 11 * 0.25 - 0.1  # 12 searches at 4 a second


def test_another_process_spending_the_token_is_met_with_backoff(hub: Running) -> None:
    hub.state.provision_custom()
    auth = {"Authorization": f"Bearer {hub.token}"}
    connector = connector_for(hub)
    since = datetime.now(UTC) - timedelta(minutes=5)
    for _ in range(4):  # the ingest process, say, just used this second of the token
        requests.post(f"{hub.url}/crm/v3/objects/contacts/search", json={"limit": 1},
                      headers=auth, timeout=5)

    assert connector.count_changed(since) == 0

    assert hub.state.statuses[429] >= 1 and hub.state.statuses[200] >= 5
