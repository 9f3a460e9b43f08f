"""How the tests talk to the ingest service: as each sender would, signatures and all."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from emulators.hubspot.webhooks import signed_request
from emulators.salesforce.callouts import signed_callout


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
