"""Temporal stopped: the service answers 503 with Retry-After and keeps nothing half-done;
Temporal back: the sender's retried delivery lands, and events from before the outage are
still there. Runs its own dev server (with a database file) so it can stop and restart it."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from emulators.common import free_port
from leadflow.stack import Ports, dev_server_command, wait_for_port
from tests.support.ingest_client import ingest_api, ingest_settings, lead_state, product_event
from tests.support.lead_harness import unique_email, workers_on
from workflows.lead_client import LeadClient


class OwnDevServer:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.command = dev_server_command(data_dir, Ports(temporal=self.port, ui=free_port()))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                        start_new_session=True)
        await asyncio.to_thread(wait_for_port, self.port)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 15)


async def test_temporal_down_means_503_and_the_retry_lands(tmp_path):
    server = OwnDevServer(tmp_path)
    await server.start()
    try:
        queue = f"outage-{uuid.uuid4().hex[:8]}"
        settings = ingest_settings(server.address, queue, "demo_led")
        async with ingest_api(settings) as api:
            email = unique_email("outage")
            before = product_event(email, "Pricing Page Viewed")
            assert (await api.events(before)).status_code == 202
            assert (await api.http.get("/healthz")).status_code == 200

            await server.stop()
            delivery = product_event(email, "Demo Requested")
            refused = await api.events(delivery)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            assert refused.headers["content-type"] == "application/problem+json"
            assert "nothing was lost" in refused.json()["detail"]
            health = await api.http.get("/healthz")
            assert health.status_code == 503 and "retry-after" in health.headers

            await server.start()
            retried = await api.events(delivery)  # the sender retries the same delivery
            assert retried.status_code == 202, retried.text

        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        async with workers_on(client, queue):
            leads = LeadClient(client, queue, "demo_led")
            state = await lead_state(leads, email, lambda s: s.stage == "MQL")
            assert state.has_seen(before["event_id"]) and state.has_seen(delivery["event_id"])
        del client
    finally:
        await server.stop()
