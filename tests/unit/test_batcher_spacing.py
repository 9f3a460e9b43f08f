"""A vendor with an account-wide request budget (HubSpot) is written sparingly: a lone record goes
at once, records arriving meanwhile gather into one request per spacing, and a full batch never
waits (activities/batcher.py)."""

from __future__ import annotations

import asyncio
import time

from activities.batcher import Batcher


def recording() -> tuple[list[list[int]], Batcher[int, int]]:
    sent: list[list[int]] = []

    def send(items: list[int]) -> list[int]:
        sent.append(list(items))
        return items

    return sent, Batcher(send, key=str, size=5, in_flight=2, spacing=0.3)


async def test_a_lone_record_goes_at_once_and_a_stream_gathers_into_spaced_requests():
    sent, batcher = recording()
    began = time.perf_counter()
    assert await batcher.submit(0) == 0
    assert time.perf_counter() - began < 0.2  # idle: not held for the spacing

    async def later(i: int) -> int:
        await asyncio.sleep(i * 0.03)
        return await batcher.submit(i)

    results = await asyncio.gather(*(later(i) for i in range(1, 5)))  # 4 records over 0.12 s
    assert results == [1, 2, 3, 4]
    assert sent == [[0], [1, 2, 3, 4]]  # one request for the four, after the spacing


async def test_a_full_batch_is_not_held_by_the_spacing():
    sent, batcher = recording()
    await batcher.submit(0)
    began = time.perf_counter()
    assert await asyncio.gather(*(batcher.submit(i) for i in range(1, 6))) == [1, 2, 3, 4, 5]
    assert time.perf_counter() - began < 0.2 and sent == [[0], [1, 2, 3, 4, 5]]
