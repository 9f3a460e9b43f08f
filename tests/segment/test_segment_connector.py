"""SegmentConnector with the real analytics-python client against the emulator over HTTP."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from config.settings import Settings
from connectors.base import OwnerTask, VendorError
from connectors.segment import STAGE_CHANGED, SegmentConnector


def test_identify_and_track_delivered_with_traits(connector, emulator, make_lead):
    leads = [make_lead(i) for i in range(20)]
    leads[3] = make_lead(3, follow_up_date=date(2030, 1, 2), disqualification_reason="budget",
                         fit_grade="C", icp="unknown")

    results = connector.upsert_leads(leads)

    assert [r.email for r in results] == [lead.email for lead in leads]
    assert all(r.ok for r in results), results
    assert results[0].record_id == "lead0@example.com"
    identify = {e["userId"]: e for e in emulator.state.events_of("identify")}
    tracks = {e["userId"]: e for e in emulator.state.events_of("track")}
    assert len(identify) == len(tracks) == 20
    traits = identify["lead3@example.com"]["traits"]
    assert traits["email"] == "Lead3@Example.com"
    assert traits["lead_stage"] == "MQL"
    assert traits["lead_score"] == 43
    assert traits["owner_id"] == "owner-0"
    assert traits["lead_follow_up_date"] == "2030-01-02"
    assert traits["lead_disqualification_reason"] == "budget"
    assert traits["company"] == "Acme 3"
    assert (traits["fit_grade"], traits["icp"]) == ("C", "unknown")
    assert "fit_grade" not in identify["lead4@example.com"]["traits"]  # no grades: nothing sent
    assert traits["lifecycle"] == "mql"  # from stage_fields
    track = tracks["lead7@example.com"]
    assert track["event"] == STAGE_CHANGED
    assert track["properties"] == {"from": "Lead", "to": "MQL", "cause": "score_threshold"}


def test_no_stage_change_sends_identify_only(connector, emulator, make_lead):
    results = connector.upsert_leads([make_lead(1, previous_stage="MQL")])

    assert results[0].ok
    assert [e["type"] for e in emulator.state.events] == ["identify"]


def test_many_events_go_in_few_batch_requests(connector, emulator, make_lead):
    results = connector.upsert_leads([make_lead(i) for i in range(250)])

    assert all(r.ok for r in results)
    assert len(emulator.state.events) == 500
    calls = emulator.state.calls
    assert set(calls) == {"batch"}
    assert calls["batch"] <= 10
    assert max(emulator.state.batch_sizes) <= 100


def test_429_burst_with_retry_after_delivers_everything_once(connector, emulator, make_lead):
    emulator.state.faults.plant(2, status=429, retry_after_s=1)
    leads = [make_lead(i) for i in range(30)]

    results = connector.upsert_leads(leads)

    assert all(r.ok for r in results), results
    assert emulator.state.calls["batch"] >= 3  # the two refused uploads were re-sent
    ids = [e["messageId"] for e in emulator.state.events]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert emulator.state.duplicates == 0


def test_wrong_write_key_fails_every_lead_as_auth_where_the_server_says_so(
        make_connector, emulator, make_lead):
    emulator.state.strict_auth = True  # real Segment answers 200: see `leadflow doctor`
    conn = make_connector(write_key="not-the-key")

    results = conn.upsert_leads([make_lead(1), make_lead(2)])

    assert [r.ok for r in results] == [False, False]
    assert all(not r.retryable and r.vendor_code == "401" for r in results)
    assert "auth" in results[0].message
    assert "lead1@example.com" in results[0].message.lower()
    assert emulator.state.events == []


def test_oversize_event_fails_only_that_lead(connector, emulator, make_lead):
    leads = [make_lead(i) for i in range(4)]
    leads[2] = make_lead(2, properties={"notes": "x" * 40_000})

    results = connector.upsert_leads(leads)

    assert [r.ok for r in results] == [True, True, False, True]
    bad = results[2]
    assert bad.vendor_code == "message_too_large"
    assert not bad.retryable
    assert "Lead2@Example.com" in bad.message and "notes" in bad.message
    users = {e["userId"] for e in emulator.state.events}
    assert users == {"lead0@example.com", "lead1@example.com", "lead3@example.com"}


def test_same_upsert_twice_stores_no_duplicates(connector, emulator, make_lead):
    leads = [make_lead(i) for i in range(5)]

    first = connector.upsert_leads(leads)
    second = connector.upsert_leads(leads)

    assert all(r.ok for r in first + second)
    assert len(emulator.state.events) == 10
    assert emulator.state.duplicates == 10  # re-sent, and dropped by messageId


def test_changed_traits_in_same_stage_are_not_deduplicated(connector, emulator, make_lead):
    connector.upsert_leads([make_lead(1, score=10)])
    connector.upsert_leads([make_lead(1, score=90)])

    scores = [e["traits"]["lead_score"] for e in emulator.state.events_of("identify")]
    assert scores == [10, 90]
    assert len(emulator.state.events_of("track")) == 1  # same transition, counted once


def test_persistent_5xx_is_reported_retryable_then_delivers(make_connector, emulator, make_lead):
    conn = make_connector(max_retries=1)
    emulator.state.faults.plant(50, status=503)

    failed = conn.upsert_leads([make_lead(1), make_lead(2)])

    assert [r.ok for r in failed] == [False, False]
    assert all(r.retryable and r.vendor_code.startswith("503") for r in failed)
    emulator.state.faults.clear()
    retried = conn.upsert_leads([make_lead(1), make_lead(2)])
    assert all(r.ok for r in retried)
    assert len(emulator.state.events) == 4


def test_rate_limit_longer_than_budget_is_retryable_not_dropped(
    make_connector, emulator, make_lead
):
    conn = make_connector(max_wait_s=1)
    emulator.state.faults.plant(50, status=429, retry_after_s=5)

    results = conn.upsert_leads([make_lead(1)])

    assert not results[0].ok and results[0].retryable
    assert "rate limit" in results[0].message.lower()
    assert emulator.state.events == []


def test_write_key_never_logged(connector, make_lead, caplog):
    caplog.set_level(logging.DEBUG, logger="segment")

    connector.upsert_leads([make_lead(1)])

    assert "making request" in caplog.text  # the library did log the request body ...
    assert "test-write-key" not in caplog.text  # ... with the key redacted


def test_from_settings_uses_key_and_host(emulator, make_lead):
    settings = Settings(SEGMENT_WRITE_KEY=emulator.write_key, SEGMENT_HOST=emulator.url)
    conn = SegmentConnector.from_settings(settings, {})
    try:
        assert conn.upsert_leads([make_lead(1)])[0].ok
    finally:
        conn.close()
    assert len(emulator.state.events) == 2


def test_from_settings_without_key_is_a_config_error():
    with pytest.raises(VendorError) as err:
        SegmentConnector.from_settings(Settings(SEGMENT_WRITE_KEY=None), {})
    assert not err.value.retryable


def test_read_side_is_empty_and_tasks_unsupported(connector):
    assert connector.changed_since(datetime(2024, 1, 1, tzinfo=UTC), None, None).records == []
    assert connector.owners() == []
    assert connector.provision() == []
    with pytest.raises(VendorError, match="segment has no tasks") as err:
        connector.create_task(OwnerTask(email="a@b.c", owner_id=None, subject="s", body="b"))
    assert not err.value.retryable


def test_queue_overflow_is_reported_retryable_never_silent(make_connector, emulator, make_lead):
    conn = make_connector(max_queue_size=4)
    leads = [make_lead(i) for i in range(100)]

    results = conn.upsert_leads(leads)

    overflowed = [r for r in results if r.vendor_code == "queue_full"]
    assert overflowed and all(r.retryable and not r.ok for r in overflowed)
    delivered = {e["userId"] for e in emulator.state.events_of("track")}
    for result in results:
        if result.ok:
            assert result.record_id in delivered
    # The activity retries with room in the queue: everything arrives, nothing twice.
    assert all(r.ok for r in make_connector().upsert_leads(leads))
    assert len(emulator.state.events_of("track")) == 100
