"""A sender's kept-alive connection outlives a pause (issue 16: the 20/s bench's POSTs failed with
a read error). uvicorn closes an idle connection after 5 s, the same moment httpx (and many
senders) still count it reusable, so a request sent then dies unanswered; behind a load balancer
(ELB's idle timeout: 60 s by default) it becomes a 502. The ingest service keeps idle connections
longer than that, so the sender or the load balancer closes them first."""

from __future__ import annotations

import asyncio
import re
import uuid
from urllib.parse import urlsplit

from ingest.server import KEEP_ALIVE_S
from tests.support.ingest_client import ingest_api, ingest_settings, temporal_address


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: ingest\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.I)
    assert length is not None
    await reader.readexactly(int(length.group(1)))
    return head.split(b"\r\n", 1)[0]


async def test_an_idle_connection_is_kept_past_a_load_balancers_idle_timeout(dev_env) -> None:  # type: ignore[no-untyped-def]
    assert KEEP_ALIVE_S > 60  # ELB's default idle timeout
    settings = ingest_settings(temporal_address(dev_env), f"keep-{uuid.uuid4().hex[:6]}", "demo_led")
    async with ingest_api(settings) as api:
        url = urlsplit(api.url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            assert await exchange(reader, writer) == b"HTTP/1.1 200 OK"
            await asyncio.sleep(6)  # past uvicorn's default of 5 s
            assert await exchange(reader, writer) == b"HTTP/1.1 200 OK"  # the same connection
        finally:
            writer.close()
