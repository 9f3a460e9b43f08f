"""Coalesces concurrent vendor writes from many lead activities into batch calls.

Each lead workflow still decides for itself and runs its own `sync_lead` activity; inside the
vendor worker the activity hands its record to the batcher for its vendor and awaits that one
record's result. The batcher sends a batch when it holds the vendor's batch size (HubSpot 100,
Salesforce 200) or when the oldest record has waited a window that follows the vendor's remaining
rate budget: milliseconds while the budget is untouched, up to a couple of seconds as it runs
short. A vendor whose request budget is shared by every integration of the account (HubSpot's ten
seconds, Salesforce's 24 hours) also gets at most one request per write path every
BUDGETED_SPACING_S: a lone record still goes at once, but under load records gather into few
requests. While a batch is in flight, the next one fills. A record's own failure fails only the
activity that handed it in, so Temporal's retries stay per lead; a whole-request failure fails
every activity of that batch, each retried on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from activities.vendor_call import vendor_call

Item = TypeVar("Item")
Result = TypeVar("Result")

IDLE_WINDOW_S = 0.005  # how long a record waits for company while the budget is untouched
MAX_WINDOW_S = 1.5     # ... and at most, when the budget runs short (the p99 target is 2 s)
CALM = 0.6             # budget left above which a vendor counts as idle
SHORT = 0.3            # budget left at which the window reaches MAX_WINDOW_S
# perf (issue 16): one batch request per write path (upserts, tasks) at most this often for a
# vendor with an app-wide ten-second budget: two paths then spend at most 2 requests/s, a fifth of
# HubSpot's Starter budget (100 / 10 s), whatever the lead rate (0.1 requests per MQL at 20/s).
BUDGETED_SPACING_S = 1.0


def window_for(budget_left: float | None) -> float:
    """Seconds a record may wait for others, given the share of the vendor's budget left
    (None: the vendor publishes no short-term budget, so only the idle window applies)."""
    if budget_left is None or budget_left >= CALM:
        return IDLE_WINDOW_S
    pressure = min(1.0, (CALM - budget_left) / (CALM - SHORT))
    return IDLE_WINDOW_S + (MAX_WINDOW_S - IDLE_WINDOW_S) * pressure


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    key: str
    since: float
    result: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher(Generic[Item, Result]):
    """One vendor write path. `send` is the connector's blocking batch call: it answers one
    result per item, in order; `key` names the record (a batch holds each record once, so two
    writes of one lead never race inside one request)."""

    def __init__(self, send: Callable[[list[Item]], list[Result]], key: Callable[[Item], str],
                 size: int, window: Callable[[], float] = lambda: IDLE_WINDOW_S,
                 in_flight: int = 1, spacing: float = 0.0) -> None:
        self._send, self._key, self.size, self._window = send, key, size, window
        self._spacing = spacing  # seconds at least between two requests' starts
        self._last_flight = float("-inf")
        self._waiting: list[_Waiting[Item, Result]] = []
        self._slots = asyncio.Semaphore(in_flight)
        self._arrived = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._flights: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        waiting = _Waiting[Item, Result](item, self._key(item), loop.time())
        self._waiting.append(waiting)
        self._arrived.set()
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        try:
            return await waiting.result
        except asyncio.CancelledError:  # the activity was cancelled: its record stays out
            with contextlib.suppress(ValueError):
                self._waiting.remove(waiting)
            raise

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                await self._slots.acquire()  # records keep gathering while a batch is in flight
                while self._waiting and len(self._waiting) < self.size:
                    wait = self._waiting[0].since + self._window() - loop.time()
                    if wait <= 0:
                        break
                    self._arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), wait)
                while self._waiting and len(self._waiting) < self.size:  # a full batch goes now
                    spaced = self._last_flight + self._spacing - loop.time()
                    if spaced <= 0:
                        break
                    self._arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), spaced)
                batch = self._take()
                if not batch:
                    self._slots.release()
                    continue
                self._last_flight = loop.time()
                flight = asyncio.create_task(self._fly(batch))
                self._flights.add(flight)
                flight.add_done_callback(self._flights.discard)
        finally:
            self._drainer = None

    def _take(self) -> list[_Waiting[Item, Result]]:
        batch: list[_Waiting[Item, Result]] = []
        keys: set[str] = set()
        rest: list[_Waiting[Item, Result]] = []
        for waiting in self._waiting:
            if len(batch) < self.size and waiting.key not in keys:
                batch.append(waiting)
                keys.add(waiting.key)
            else:
                rest.append(waiting)
        self._waiting = rest
        return batch

    async def _fly(self, batch: list[_Waiting[Item, Result]]) -> None:
        try:
            results = await vendor_call(self._send, [w.item for w in batch])
        except BaseException as exc:  # the whole request failed: every record's activity fails
            for waiting in batch:
                if not waiting.result.done():
                    waiting.result.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for waiting, result in zip(batch, results, strict=True):
                if not waiting.result.done():
                    waiting.result.set_result(result)
        finally:
            self._slots.release()
