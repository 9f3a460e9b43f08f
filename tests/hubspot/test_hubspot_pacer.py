"""Two processes' pacers sharing one token against the emulator's ten-second window, with the
slow answers a busy worker meets: a request counted by HubSpot at once but read back a second
later carries an old `X-HubSpot-RateLimit-Remaining`, and must not pass for a fresh one."""

from __future__ import annotations

import random
import threading
import time

from connectors.hubspot import _Pacer, _SearchPacer
from emulators.hubspot.ratelimit import RateLimiter

LIMIT, INTERVAL_MS = 20, 2000
SECONDS, THREADS = 15.0, 6  # per process; the old pacer drew a 429 in most such runs


def test_two_pacers_on_one_token_with_slow_answers_draw_no_429() -> None:
    hub = RateLimiter(LIMIT, INTERVAL_MS, 1_000_000)
    refused: list[str] = []
    admitted = 0
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(pacer: _Pacer, seed: int) -> None:
        nonlocal admitted
        rnd = random.Random(seed)

        def lag(usual: float, slow: float) -> None:  # one answer in ten is slow
            time.sleep(rnd.uniform(0.002, usual) if rnd.random() > 0.1 else rnd.uniform(0.1, slow))

        while time.monotonic() < stop:
            ticket = pacer.wait_turn(search=False)
            lag(0.08, 0.8)  # on the way to HubSpot
            policy = hub.admit()
            headers = hub.headers(policy)
            lag(0.15, 1.5)  # on the way back, and waiting for the GIL
            pacer.answered(ticket, headers)
            with lock:
                refused.extend([policy] if policy else [])
                admitted += policy is None
            if policy:
                pacer.exhausted()
                time.sleep(pacer.interval)

    pacers = [_Pacer(time.monotonic, time.sleep, _SearchPacer()) for _ in range(2)]
    threads = [threading.Thread(target=client, args=(pacer, 100 * p + t))
               for p, pacer in enumerate(pacers) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert refused == []
    assert admitted / SECONDS > 0.5 * LIMIT / INTERVAL_MS * 1000, "the pacers still send"
