"""Payload encryption, seen where it matters: the bytes Temporal's database holds, and old
histories replaying after a key rotation."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.worker import Replayer

from config.temporal import connect
from lifecycle.events import EventKind, LeadEvent
from privacy.converter import data_converter, key_store
from tests.support.lead_harness import workers_on
from tests.support.privacy_stack import NEW_KEYS, OLD_KEYS, PrivacyStack, lead_state
from worker import SANDBOX, WORKFLOWS
from workflows.lead_client import LeadClient


def person() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"email": f"grace-{tag}@hopper-{tag}.io", "name": f"Grace Hopper {tag}",
            "company": f"Hopper Compilers {tag}", "phone": f"+1-555-{tag}"}


def event(p: dict[str, str], name: str = "Demo Requested",
          kind: EventKind = EventKind.DEMO_REQUESTED) -> LeadEvent:
    return LeadEvent(event_id=f"ev-{uuid.uuid4().hex}", kind=kind, name=name,
                     occurred_at=datetime.now(UTC), actor="product",
                     properties={"name": p["name"], "company": p["company"], "phone": p["phone"]})


async def started_lead(stack: PrivacyStack, p: dict[str, str], keys: str):  # type: ignore[no-untyped-def]
    leads = LeadClient(await stack.client(keys), stack.task_queue)
    handle = await leads.send_event(p["email"], event(p))
    return leads, handle


def cells_containing(db_file, needle: str, but_in: str = "") -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(table, column) of every cell in the dev server's SQLite database that holds `needle`
    (other than as part of `but_in`)."""
    found = set()
    raw, allowed = needle.encode(), but_in.encode()
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    data = value if isinstance(value, bytes) else str(value).encode()
                    if data.count(raw) > (data.count(allowed) if allowed else 0):
                        found.add((table, column))
    return found


async def test_no_personal_data_in_temporals_database_but_the_workflow_id(
        privacy_stack: PrivacyStack, encrypted_workers) -> None:  # type: ignore[no-untyped-def]
    p = person()
    leads, handle = await started_lead(privacy_stack, p, NEW_KEYS)
    state = await lead_state(leads, p["email"])  # the worker decoded the signal: the lead moved on
    assert state.email == p["email"] and state.stage != "New Lead"
    await handle.signal("event", event(p, "Pricing Page Viewed"))
    await lead_state(leads, p["email"])  # flushed to the database by now (the query ran after it)

    for value in (p["name"], p["company"], p["phone"]):
        assert cells_containing(privacy_stack.db_file, value) == set(), value
    # The email is in the workflow id (lead:<email>), which Temporal keeps in plain text
    # (docs/privacy.md: a limit); nowhere else.
    assert cells_containing(privacy_stack.db_file, p["email"], but_in=f"lead:{p['email']}") == set()
    assert cells_containing(privacy_stack.db_file, p["email"])  # (the scan does see the workflow id)


async def test_plain_payloads_are_what_the_database_holds_without_keys(
        privacy_stack: PrivacyStack, encrypted_workers) -> None:  # type: ignore[no-untyped-def]
    """The scan above can fail: a client without keys writes the person's name in plain text."""
    p = person()
    plain = privacy_stack.settings(keys=None)
    client = await connect(plain)
    await LeadClient(client, privacy_stack.task_queue).send_event(p["email"], event(p))
    assert ("history_node", "data") in cells_containing(privacy_stack.db_file, p["name"])


async def test_histories_sealed_with_an_old_key_replay_after_rotation(
        privacy_stack: PrivacyStack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = {"LEADFLOW_DATA_DIR": str(tmp_path), "LEADFLOW_TASK_QUEUE": f"rot-{uuid.uuid4().hex[:6]}"}
    old = privacy_stack.settings(OLD_KEYS, **before)  # a deployment before the rotation
    client = await connect(old)
    p = person()
    async with workers_on(client, old.task_queue):
        leads = LeadClient(client, old.task_queue)
        handle = await leads.send_event(p["email"], event(p, "Webinar Attended", EventKind.OTHER))
        await lead_state(leads, p["email"])
        history = await handle.fetch_history()
        await handle.terminate("test finished")

    def replayer(keys: str) -> Replayer:
        return Replayer(workflows=WORKFLOWS, workflow_runner=SANDBOX,
                        data_converter=data_converter(privacy_stack.settings(keys, **before)))

    await replayer(NEW_KEYS).replay_workflow(history)  # the new key first, the old one still listed

    newest_only = NEW_KEYS.split(",")[0]
    # The lead's data key is still wrapped by the old master key: nothing of it can be opened.
    with pytest.raises(Exception, match="master key '2026-05' is not in LEADFLOW_ENCRYPTION_KEYS"):
        await replayer(newest_only).replay_workflow(history)

    # `leadflow keys rewrap` wraps every data key with the newest: the old key can go (for leads)
    store = key_store(privacy_stack.settings(NEW_KEYS, **before))
    assert store.rewrap() == 2  # the lead's data key and the pseudonym key
    assert store.wrapped_by() == {"2026-11": 2}
    await replayer(newest_only).replay_workflow(history)
