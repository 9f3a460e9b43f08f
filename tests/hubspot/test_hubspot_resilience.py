"""Rate limits, transient faults and auth, as the connector meets them over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.base import LeadSnapshot, VendorError
from connectors.hubspot import HubSpotConnector
from emulators.hubspot import Running
from emulators.hubspot.ratelimit import DAILY
from tests.support.hs_helpers import UPSERT, connector_for


def _leads(n: int) -> list[LeadSnapshot]:
    return [LeadSnapshot(email=f"r{i}@example.com", stage="MQL") for i in range(n)]


def test_rate_limit_headers_on_every_response(provisioned: Running) -> None:
    auth = {"Authorization": f"Bearer {provisioned.token}"}
    ok = requests.get(f"{provisioned.url}/crm/v3/owners/", headers=auth, timeout=5)
    missing = requests.get(f"{provisioned.url}/crm/v3/objects/contacts/1", headers=auth,
                           timeout=5)
    for response in (ok, missing):
        assert response.headers["X-HubSpot-RateLimit-Max"] == "100"
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert "X-HubSpot-RateLimit-Daily-Remaining" in response.headers
    assert int(missing.headers["X-HubSpot-RateLimit-Remaining"]) == 98


def test_429_burst_then_success_loses_no_lead(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(rate_limit_interval_ms=300)
    hub.state.provision_custom()
    hub.state.faults.plant(3, status=429)

    results = connector_for(hub).upsert_leads(_leads(250))

    assert all(r.ok for r in results)
    assert len(hub.state.contacts()) == 250
    assert hub.state.statuses[429] == 3
    assert hub.state.count(UPSERT) == 6


def test_the_real_ten_secondly_429_body(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(rate_limit_max=2)
    auth = {"Authorization": f"Bearer {hub.token}"}
    codes = [requests.get(f"{hub.url}/crm/v3/owners", headers=auth, timeout=5)
             for _ in range(3)]

    assert [r.status_code for r in codes] == [200, 200, 429]
    body = codes[2].json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT" and body["status"] == "error"
    assert body["correlationId"] and "limit" in body["message"]
    assert codes[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_daily_limit_gives_up_at_once_as_retryable(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(daily_limit=2)
    connector = connector_for(hub)
    connector.owners()  # two requests: active and archived owners

    started = time.monotonic()
    with pytest.raises(VendorError) as caught:
        connector.owners()

    assert caught.value.retryable and caught.value.code == "RATE_LIMIT_DAILY"
    assert time.monotonic() - started < 1
    assert hub.state.statuses[429] == 1


def test_planted_daily_429_is_not_waited_out(provisioned: Running,
                                             connector: HubSpotConnector) -> None:
    provisioned.state.fault_policy = DAILY
    provisioned.state.faults.plant(1, status=429)

    with pytest.raises(VendorError) as caught:
        connector.upsert_leads(_leads(2))

    assert caught.value.retryable
    assert provisioned.state.count(UPSERT) == 1


def test_5xx_and_423_are_retried(provisioned: Running, connector: HubSpotConnector) -> None:
    provisioned.state.faults.plant(2, status=502)
    assert all(r.ok for r in connector.upsert_leads(_leads(3)))
    provisioned.state.faults.plant(1, status=423)
    assert all(r.ok for r in connector.upsert_leads(_leads(3)))
    assert provisioned.state.count(UPSERT) == 3 + 2


def test_persistent_5xx_becomes_retryable_vendor_error(provisioned: Running) -> None:
    provisioned.state.faults.plant(1000, status=503)
    connector = connector_for(provisioned, max_wait_s=1.5)

    started = time.monotonic()
    with pytest.raises(VendorError) as caught:
        connector.upsert_leads(_leads(3))

    assert caught.value.retryable and caught.value.code == "HTTP_503"
    assert time.monotonic() - started < 3
    assert provisioned.state.contacts() == []


def test_wrong_token_is_a_non_retryable_error(provisioned: Running) -> None:
    connector = HubSpotConnector(access_token="pat-wrong", base_url=provisioned.url,
                                 stage_fields={})
    with pytest.raises(VendorError) as caught:
        connector.upsert_leads(_leads(1))

    assert not caught.value.retryable
    assert caught.value.code == "INVALID_AUTHENTICATION"
    assert "pat-wrong" not in str(caught.value) and "pat-wrong" not in repr(connector)
    assert provisioned.state.statuses[401] == 1


def test_pacing_stays_under_a_small_limit(hub_factory: Callable[..., Running]) -> None:
    hub = hub_factory(rate_limit_max=10, rate_limit_interval_ms=1000)
    hub.state.provision_custom()
    connector = connector_for(hub)
    since = datetime.now(UTC) - timedelta(minutes=5)

    started = time.monotonic()
    results = connector.upsert_leads(_leads(300))
    pages, cursor = [], None
    while True:
        page = connector.changed_since(since, None, cursor)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    for _ in range(8):
        connector.owners()
    elapsed = time.monotonic() - started

    assert all(r.ok for r in results)
    assert sum(len(p.records) for p in pages) == 300
    calls = hub.state.total_calls()
    assert calls == 3 + 2 + 16
    assert hub.state.statuses[429] == 0
    # 21 requests at <= 9 per second need at least two full intervals of waiting.
    assert elapsed >= 1.8
    # Unpaced, the same emulator refuses a burst: the pacing is what avoided the 429s.
    auth = {"Authorization": f"Bearer {hub.token}"}
    burst = [requests.get(f"{hub.url}/crm/v3/owners", headers=auth, timeout=5).status_code
             for _ in range(12)]
    assert 429 in burst
