"""leadflow against a Temporal frontend that requires TLS with client certificates (a private CA),
as a production cluster does: `leadflow ingest`, the worker and the CLI all reach it from the same
LEADFLOW_TEMPORAL_* settings, which docs/deployment.md tells operators to set for every container."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import trustme

from config.settings import Settings
from config.temporal import connect
from emulators.common import free_port
from tests.support.lead_harness import unique_email, until, workers_on
from tests.support.tls_proxy import tls_proxy, write_pems

LEADFLOW = str(Path(sys.prefix) / "bin" / "leadflow")
TOKEN = "ingest-token-for-tls-test"


async def cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(LEADFLOW, *args, env=env, cwd=cwd,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_ingest_worker_and_cli_reach_a_tls_only_frontend(dev_env, tmp_path):
    ca = trustme.CA()
    queue = f"tls-{uuid.uuid4().hex[:8]}"
    target = str(dev_env.client.service_client.config.target_host)
    async with tls_proxy(target, ca.issue_cert("127.0.0.1"), client_ca=ca) as proxy:
        port = free_port()
        settings_env = {
            **write_pems(tmp_path, ca, ca.issue_cert("leadflow.example.com")),
            "LEADFLOW_TEMPORAL_ADDRESS": proxy.address, "LEADFLOW_TASK_QUEUE": queue,
            "LEADFLOW_PLAYBOOK": "demo_led", "LEADFLOW_INGEST_TOKEN": TOKEN,
            "LEADFLOW_INGEST_HOST": "127.0.0.1", "LEADFLOW_INGEST_PORT": str(port),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")} | settings_env
        client = await connect(Settings(_env_file=None, **settings_env))  # type: ignore[call-arg]
        async with workers_on(client, queue):
            ingest = await asyncio.create_subprocess_exec(LEADFLOW, "ingest", env=env, cwd=tmp_path)
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:

                    async def health() -> int | None:
                        try:
                            return (await http.get("/healthz")).status_code
                        except httpx.TransportError:
                            return None

                    await until(health, timeout=30, what="leadflow ingest listening")
                    email = unique_email("tls")
                    event = {"event_id": uuid.uuid4().hex, "email": email, "name": "Demo Requested",
                             "occurred_at": datetime.now(UTC).isoformat(), "properties": {}}
                    sent = await http.post("/v1/events", json={"events": [event]},
                                           headers={"Authorization": f"Bearer {TOKEN}"})
                    assert sent.status_code == 202, sent.text
                    assert (await http.get("/healthz")).status_code == 200

                async def shown_stage() -> str | None:
                    code, out, _ = await cli(env, tmp_path, "show", email)
                    stage = json.loads(out)["stage"] if code == 0 else None
                    return stage if stage == "MQL" else None

                assert await until(shown_stage, timeout=60, what="`leadflow show` reports MQL") == "MQL"
            finally:
                ingest.terminate()
                await ingest.wait()
        del client
    assert proxy.handshakes >= 3  # the worker's client, ingest's, and the CLI's
