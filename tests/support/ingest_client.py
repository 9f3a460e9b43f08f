"""How the tests talk to the ingest service: as each sender would, signatures and all; the
service on loopback with the test secrets, and waiting for a lead's state."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from config.settings import Settings
from emulators.hubspot.webhooks import signed_request
from emulators.run_all import env_for
from emulators.salesforce.callouts import signed_callout
from ingest.server import serving
from lifecycle.state import LeadState
from tests.support.vendor_stack import VendorStack
from workflows.lead_client import LeadClient


class IngestApi:
    def __init__(self, url: str, secrets: dict[str, str]) -> None:
        self.url = url
        self.secrets = secrets
        self.http = httpx.AsyncClient(base_url=url, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['LEADFLOW_INGEST_TOKEN']}"}

    async def events(self, *events: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/v1/events", json={"events": list(events)}, headers=self.bearer)

    def segment_signature(self, body: bytes) -> str:
        key = self.secrets["SEGMENT_WEBHOOK_SECRET"].encode()
        return hmac.new(key, body, hashlib.sha1).hexdigest()

    async def segment(self, message: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        body = json.dumps(message).encode()
        sent = {"Content-Type": "application/json", "X-Signature": self.segment_signature(body)}
        return await self.http.post("/v1/webhooks/segment", content=body, headers={**sent, **(headers or {})})

    def hubspot_url(self) -> str:
        return f"{self.url}/v1/webhooks/hubspot"

    async def hubspot(self, events: list[dict[str, Any]], timestamp_ms: int | None = None,
                      tamper: bool = False) -> httpx.Response:
        body, headers = signed_request(self.hubspot_url(), self.secrets["HUBSPOT_CLIENT_SECRET"],
                                       events, timestamp_ms or int(time.time() * 1000))
        if tamper:
            body = body.replace('"propertyValue":"', '"propertyValue":"X', 1)
        return await self.http.post("/v1/webhooks/hubspot", content=body.encode(), headers=headers)

    async def salesforce(self, leads: list[dict[str, Any]], secret: str | None = None) -> httpx.Response:
        body, headers = signed_callout(secret or self.secrets["SALESFORCE_WEBHOOK_SECRET"], leads)
        return await self.http.post("/v1/webhooks/salesforce", content=body, headers=headers)


SECRETS = {
    "LEADFLOW_INGEST_TOKEN": "ingest-token-for-tests",
    "SEGMENT_WEBHOOK_SECRET": "segment-shared-secret",
    "HUBSPOT_CLIENT_SECRET": "hubspot-app-client-secret",
    "SALESFORCE_WEBHOOK_SECRET": "salesforce-callout-secret",
}


def ingest_settings(temporal_address: str, task_queue: str, playbook: str,
                    stack: VendorStack | None = None) -> Settings:
    env: dict[str, Any] = dict(env_for(stack.running)) if stack else {}
    env.update(SECRETS, LEADFLOW_TEMPORAL_ADDRESS=temporal_address, LEADFLOW_TASK_QUEUE=task_queue,
               LEADFLOW_PLAYBOOK=playbook, LEADFLOW_INGEST_HOST="127.0.0.1")
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


@asynccontextmanager
async def ingest_api(settings: Settings) -> AsyncIterator[IngestApi]:
    async with serving(settings, port=0) as url:
        api = IngestApi(url, SECRETS)
        try:
            yield api
        finally:
            await api.aclose()


def temporal_address(env) -> str:  # type: ignore[no-untyped-def]
    return str(env.client.service_client.config.target_host)


async def lead_state(leads: LeadClient, email: str, check: Callable[[LeadState], bool],
                     timeout: float = 30) -> LeadState:
    """The lead's state once `check` holds (its workflow may not have run its first task yet)."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen: LeadState | None = None
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(WorkflowQueryFailedError, RPCError):
            seen = await leads.state(email)
            if seen is not None and check(seen):
                return seen
        await asyncio.sleep(0.2)
    raise AssertionError(f"{email}: expected state not reached in {timeout}s; last seen {seen}")


def product_event(email: str, name: str, **props: Any) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "email": email, "name": name,
            "occurred_at": datetime.now(UTC).isoformat(), "properties": props}
