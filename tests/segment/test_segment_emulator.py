"""The emulator's Segment behaviour, driven through analytics-python's own request code."""

from __future__ import annotations

import gzip

import pytest
import requests
from segment.analytics.request import APIError, post

import emulators.segment as segment_emulator


def _event(i: int, pad: int = 0) -> dict:
    return {
        "type": "track",
        "userId": f"u{i}",
        "event": "Thing Happened",
        "properties": {"pad": "x" * pad},
        "messageId": f"m{i}",
        "timestamp": "2024-01-01T00:00:00.000Z",
    }


def test_batch_stored_and_counted(emulator):
    post(emulator.write_key, emulator.url, batch=[_event(1), _event(2)])

    assert [e["messageId"] for e in emulator.state.events] == ["m1", "m2"]
    assert emulator.state.events[0]["properties"] == {"pad": ""}
    assert "receivedAt" in emulator.state.events[0]
    assert emulator.state.calls["batch"] == 1


def test_gzip_body_accepted(emulator):
    post(emulator.write_key, emulator.url, gzip=True, batch=[_event(1)])

    assert emulator.state.events_of("track", "u1")


def test_duplicate_message_ids_are_dropped(emulator):
    post(emulator.write_key, emulator.url, batch=[_event(1), _event(1)])
    post(emulator.write_key, emulator.url, batch=[_event(1)])

    assert len(emulator.state.events) == 1
    assert emulator.state.duplicates == 2


def test_event_over_32kb_refuses_the_batch_with_400(emulator):
    with pytest.raises(APIError) as err:
        post(emulator.write_key, emulator.url, batch=[_event(1), _event(2, pad=33_000)])

    assert err.value.status == 400
    assert err.value.code == "event_too_large"
    assert emulator.state.events == []


def test_batch_over_500kb_refused_with_400(emulator):
    batch = [_event(i, pad=30_000) for i in range(18)]  # each event legal, ~540 KB together

    with pytest.raises(APIError) as err:
        post(emulator.write_key, emulator.url, gzip=True, batch=batch)

    assert (err.value.status, err.value.code) == (400, "payload_too_large")
    assert emulator.state.events == []


def test_wrong_or_missing_write_key_is_200_and_dropped_as_segment_does(emulator):
    post("wrong-key", emulator.url, batch=[_event(1)])  # no error: Segment answers 200

    bare = requests.post(f"{emulator.url}/v1/batch", json={"batch": [_event(2)]}, timeout=5)
    assert bare.status_code == 200
    assert emulator.state.events == []
    assert [r["reason"] for r in emulator.state.rejected] == ["unknown write key"] * 2
    # Only the source's debugger shows that nothing arrived.
    seen = requests.get(f"{emulator.url}/_emulator/debugger", auth=("wrong-key", ""), timeout=5)
    assert seen.json() == {"events": []}


def test_strict_auth_makes_a_wrong_key_a_401():
    with segment_emulator.start(strict_auth=True) as running:
        with pytest.raises(APIError) as err:
            post("wrong-key", running.url, batch=[_event(1)])
        assert (err.value.status, err.value.code) == (401, "unauthorized")
        assert running.state.events == []


def test_malformed_json_is_400(emulator):
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    resp = requests.post(
        f"{emulator.url}/v1/batch",
        data=gzip.compress(b'{"batch": [}'),
        headers=headers,
        auth=(emulator.write_key, ""),
        timeout=5,
    )

    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_json"


def test_single_event_endpoint_and_its_limit(emulator):
    url, auth = emulator.url, (emulator.write_key, "")
    ok = requests.post(f"{url}/v1/identify", json={"userId": "u1", "traits": {}}, auth=auth)
    big = {"userId": "u2", "traits": {"pad": "x" * 33_000}}
    too_big = requests.post(f"{url}/v1/identify", json=big, auth=auth, timeout=5)

    assert ok.status_code == 200
    assert too_big.status_code == 400
    assert [e["userId"] for e in emulator.state.events_of("identify")] == ["u1"]
    assert emulator.state.calls["identify"] == 2


def test_event_without_user_is_silently_rejected(emulator):
    anonymous = {**_event(1), "userId": None}

    post(emulator.write_key, emulator.url, batch=[anonymous, _event(2)])

    assert [e["userId"] for e in emulator.state.events] == ["u2"]
    assert emulator.state.rejected[0]["reason"] == "no_user_anon_id"


def test_control_endpoints_drive_faults_state_and_reset(emulator):
    base = f"{emulator.url}/_emulator"
    requests.post(f"{base}/faults", json={"fail_next": 1, "status": 429, "retry_after_s": 7})

    with pytest.raises(APIError) as err:
        post(emulator.write_key, emulator.url, batch=[_event(1)])
    assert err.value.status == 429
    assert err.value.response.headers["Retry-After"] == "7"

    post(emulator.write_key, emulator.url, batch=[_event(2)])
    summary = requests.get(f"{base}/state", params={"events": 1}, timeout=5).json()
    assert summary["calls"] == {"batch": 2}
    assert [e["messageId"] for e in summary["event_list"]] == ["m2"]

    requests.post(f"{base}/reset", timeout=5)
    assert requests.get(f"{base}/state", timeout=5).json()["events"] == 0
    post(emulator.write_key, emulator.url, batch=[_event(2)])  # dedup memory is reset too
    assert len(emulator.state.events) == 1


def test_injected_5xx_and_latency(emulator):
    emulator.state.faults.plant(1, status=502)
    with pytest.raises(APIError) as err:
        post(emulator.write_key, emulator.url, batch=[_event(1)])
    assert err.value.status == 502

    requests.post(f"{emulator.url}/_emulator/faults", json={"latency_s": 0.3}, timeout=5)
    with pytest.raises(requests.Timeout):
        post(emulator.write_key, emulator.url, timeout=0.1, batch=[_event(1)])
