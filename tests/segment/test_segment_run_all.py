"""emulators.run_all starting the Segment emulator (the other vendors are optional here)."""

from __future__ import annotations

import requests
from segment.analytics import Client

from emulators.run_all import env_for, run_all, stop_all


def test_run_all_starts_segment_and_points_env_at_it():
    running = run_all(hubspot=False, salesforce=False, segment=True, ports=None)
    try:
        assert set(running) == {"segment"}
        env = env_for(running)
        assert env["SEGMENT_HOST"] == running["segment"].url
        client = Client(env["SEGMENT_WRITE_KEY"], host=env["SEGMENT_HOST"], sync_mode=True)
        client.track(user_id="u1", event="Ping")
        summary = requests.get(f"{env['SEGMENT_HOST']}/_emulator/state", timeout=5).json()
        assert summary["events"] == 1
    finally:
        stop_all(running)
    try:
        requests.get(f"{running['segment'].url}/_emulator/state", timeout=1)
        still_up = True
    except requests.ConnectionError:
        still_up = False
    assert not still_up
