"""HubSpot's private-app limits: a rolling 10-second window and a daily quota.

Every answered request carries the X-HubSpot-RateLimit-* headers, so a client can pace
itself before it hits the limit (which is what the connector is expected to do).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
SECONDLY = "SECONDLY"  # CRM search's own per-token limit
# CRM search: "four requests per second and per authentication token", outside the ten-second
# limit (developers.hubspot.com/changelog/crm-search-api-rate-limit-increase; the CRM OpenAPI
# specs mark search `x-hubspot-rate-limit-exemptions: ten-secondly`).
SEARCH_PER_SECOND = 4


class SearchLimiter:
    """One rolling one-second window per access token; search answers carry no limit headers."""

    def __init__(self, per_second: int = SEARCH_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def admit(self, token: str) -> str | None:
        with self._lock:
            now = self._clock()
            window = self._windows.setdefault(token, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.per_second:
                return SECONDLY
            window.append(now)
            return None


class RateLimiter:
    def __init__(
        self,
        max_requests: int = 100,
        interval_ms: int = 10_000,
        daily_max: int = 250_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_requests = max_requests
        self.interval_ms = interval_ms
        self.daily_max = daily_max
        self._clock = clock
        self._window: deque[float] = deque()
        self._daily_used = 0
        self._lock = threading.Lock()

    def configure(self, max_requests: int | None = None, interval_ms: int | None = None,
                  daily_max: int | None = None) -> None:
        with self._lock:
            self.max_requests = max_requests or self.max_requests
            self.interval_ms = interval_ms or self.interval_ms
            self.daily_max = daily_max or self.daily_max

    def reset(self) -> None:
        with self._lock:
            self._window.clear()
            self._daily_used = 0

    def _trim(self, now: float) -> None:
        horizon = now - self.interval_ms / 1000
        while self._window and self._window[0] <= horizon:
            self._window.popleft()

    def admit(self) -> str | None:
        """Count this request, or return the policy it would break (and don't count it)."""
        with self._lock:
            now = self._clock()
            self._trim(now)
            if self._daily_used >= self.daily_max:
                return DAILY
            if len(self._window) >= self.max_requests:
                return TEN_SECONDLY
            self._window.append(now)
            self._daily_used += 1
            return None

    def headers(self, exhausted: str | None = None) -> dict[str, str]:
        with self._lock:
            self._trim(self._clock())
            remaining = max(0, self.max_requests - len(self._window))
            daily_remaining = max(0, self.daily_max - self._daily_used)
        if exhausted == TEN_SECONDLY:
            remaining = 0
        if exhausted == DAILY:
            daily_remaining = 0
        return {
            "X-HubSpot-RateLimit-Max": str(self.max_requests),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-HubSpot-RateLimit-Daily": str(self.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        }
