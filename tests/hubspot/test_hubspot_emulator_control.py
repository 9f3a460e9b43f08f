"""The /_emulator endpoints the local stack and benchmarks drive over HTTP."""

from __future__ import annotations

import requests

from emulators.hubspot import Running


def test_faults_config_state_and_reset_over_http(hub: Running) -> None:
    auth = {"Authorization": f"Bearer {hub.token}"}
    owners = f"{hub.url}/crm/v3/owners/"

    planted = requests.post(f"{hub.url}/_emulator/faults", timeout=5,
                            json={"fail_next": 2, "status": 429, "policy": "DAILY"})
    assert planted.json()["fail_next"] == 2
    first = requests.get(owners, headers=auth, timeout=5)
    assert first.status_code == 429 and first.json()["policyName"] == "DAILY"
    requests.get(owners, headers=auth, timeout=5)
    assert requests.get(owners, headers=auth, timeout=5).status_code == 200

    requests.post(f"{hub.url}/_emulator/config", json={"rate_limit_max": 5}, timeout=5)
    limited = requests.get(owners, headers=auth, timeout=5)
    assert limited.headers["X-HubSpot-RateLimit-Max"] == "5"

    summary = requests.get(f"{hub.url}/_emulator/state", timeout=5).json()
    assert summary["calls"]["GET /crm/v3/owners/"] == 4
    assert summary["statuses"] == {"429": 2, "200": 2}
    assert summary["rateLimit"]["max"] == 5

    requests.post(f"{hub.url}/_emulator/reset", timeout=5)
    assert requests.get(f"{hub.url}/_emulator/state", timeout=5).json()["calls"] == {}
    assert hub.state.total_calls() == 0
