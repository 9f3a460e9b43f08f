"""Sending events the way a product backend does: POST /v1/events, and on a 503 or a broken
connection, the same request again until it is acknowledged (202). Every acknowledged event
id is remembered per lead, so a scenario can count what was lost or applied twice."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx


def event(email: str, name: str, event_id: str | None = None, **props: Any) -> dict[str, Any]:
    return {"event_id": event_id or uuid.uuid4().hex, "email": email, "name": name,
            "occurred_at": datetime.now(UTC).isoformat(), "properties": props}


@dataclass
class Sender:
    url: str
    token: str
    concurrency: int = 16
    acked: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    last_ack: float = 0.0

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30,
                                      headers={"Authorization": f"Bearer {self.token}"})
        self.gate = asyncio.Semaphore(self.concurrency)

    @property
    def acknowledged(self) -> int:
        return sum(len(ids) for ids in self.acked.values())

    @property
    def server_errors(self) -> int:
        """5xx other than 503 (an outage, answered with Retry-After: the sender retries)."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)

    async def send(self, events: list[dict[str, Any]], give_up_s: float = 300) -> bool:
        """Until 202 (True) or a 4xx refusal (False); 503 and connection errors are retried."""
        deadline = time.monotonic() + give_up_s
        async with self.gate:
            while True:
                try:
                    answer = await self.http.post("/v1/events", json={"events": events})
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 202:
                        for ev in events:
                            self.acked[ev["email"]].append(ev["event_id"])
                        self.last_ack = time.monotonic()
                        return True
                    if answer.status_code < 500:
                        return False
                except httpx.TransportError:
                    self.statuses[0] += 1  # no answer at all (ingest restarting, connection reset)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no acknowledgement in {give_up_s}s")
                self.retries += 1
                await asyncio.sleep(0.5)

    async def send_all(self, batches: list[list[dict[str, Any]]]) -> None:
        await asyncio.gather(*(self.send(b) for b in batches))

    async def close(self) -> None:
        await self.http.aclose()
