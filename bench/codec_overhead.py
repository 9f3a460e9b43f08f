"""What payload encryption costs per payload: the data converter with and without the codec.

    .venv/bin/python bench/codec_overhead.py [--n 2000]

Encodes and decodes a lead's continue-as-new input (its whole state: the largest payload a lead
workflow writes) and a signal (a LeadEvent), through: the plain pydantic converter; the encrypting
converter for a lead whose data key is cached (the steady state in a worker); the same with a
cold cache (every payload reads the key store: the codec server's case); and a master-key payload
(team routers, backfills). Prints microseconds per payload and the bytes encryption adds. The key
store is SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, WorkflowSerializationContext

from config.playbook_loader import stock_playbook
from config.settings import Settings
from lifecycle.engine import decide, new_lead
from lifecycle.events import EventKind, LeadEvent
from privacy.converter import encrypting_converter, key_store
from privacy.keys import new_key_entry
from workflows.lead_models import LeadInput

PB = stock_playbook("demo_led")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def carried_state() -> LeadInput:
    """A lead after a few dozen events, as continue-as-new carries it."""
    state = new_lead(PB, "ada@acme.io", T0, {"company": "Acme", "name": "Ada Lovelace"}, source="ads").state
    for i in range(40):
        event = LeadEvent(event_id=f"e{i}", kind=EventKind.PRICING_VISIT if i % 2 else EventKind.EMAIL_REPLY,
                          occurred_at=T0 + timedelta(hours=i), properties={"page": "/pricing"})
        state = decide(PB, state, event, T0 + timedelta(hours=i)).state
    return LeadInput(email="ada@acme.io", playbook=PB, state=state)


async def per_payload(converter: DataConverter, value: object, n: int) -> tuple[float, float, int]:
    """(encode µs, decode µs, encoded bytes) per payload."""
    encoded = await converter.encode([value])
    started = time.perf_counter()
    for _ in range(n):
        encoded = await converter.encode([value])
    encode_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(n):
        await converter.decode(encoded, [type(value)])
    decode_us = (time.perf_counter() - started) / n * 1e6
    return encode_us, decode_us, encoded[0].ByteSize()


async def main(n: int) -> None:
    lead = WorkflowSerializationContext(namespace="default", workflow_id="lead:ada@acme.io")
    team = WorkflowSerializationContext(namespace="default", workflow_id="team:sdr-emea")
    signal = LeadEvent(event_id="ev-1", kind=EventKind.DEMO_REQUESTED, occurred_at=T0,
                       properties={"name": "Ada Lovelace", "company": "Acme", "plan": "pro"})
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, LEADFLOW_ENCRYPTION_KEYS=new_key_entry("bench"),  # type: ignore[call-arg]
                            LEADFLOW_DATA_DIR=tmp)
        cached = encrypting_converter(key_store(settings))
        cold = encrypting_converter(key_store(settings, cache_seconds=0))
        cases = [("plain (pydantic JSON)", pydantic_data_converter.with_context(lead)),
                 ("encrypted, lead key cached", cached.with_context(lead)),
                 ("encrypted, lead key read each time", cold.with_context(lead)),
                 ("encrypted, master key", cached.with_context(team))]
        payloads = [("continue-as-new input (LeadInput)", carried_state()), ("signal (LeadEvent)", signal)]
        for label, value in payloads:
            print(f"\n{label}, {n} payloads each")
            plain_size = None
            for name, converter in cases:
                enc, dec, size = await per_payload(converter, value, n)
                plain_size = plain_size or size
                print(f"  {name:36s} encode {enc:8.1f} µs  decode {dec:8.1f} µs  "
                      f"{size:6d} bytes (+{size - plain_size})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
