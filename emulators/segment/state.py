"""In-memory state of the Segment emulator: what was received, what was dropped, call counts.

Everything is guarded by one lock because uvicorn serves requests on its own thread
while tests read the state from theirs.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from emulators.common import Faults

DEFAULT_WRITE_KEY = "test-write-key"


class SegmentState:
    def __init__(
        self, write_keys: Iterable[str] = (DEFAULT_WRITE_KEY,), *, strict_auth: bool = False
    ) -> None:
        self.write_keys = set(write_keys)
        # Segment's HTTP API answers 200 to a wrong or missing write key and drops the data
        # (segment.com/docs/connections/sources/catalog/libraries/server/http-api/, "Errors":
        # only oversize payloads and invalid JSON get 400); that is the default here too.
        # strict_auth=True answers 401 instead, for tests that want a bad key to be loud.
        self.strict_auth = strict_auth
        self.faults = Faults()
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.events: list[dict[str, Any]] = []
            self.rejected: list[dict[str, Any]] = []
            self.calls: Counter[str] = Counter()
            self.batch_sizes: list[int] = []
            self.duplicates = 0
            self._seen: set[str] = set()
        self.faults.clear()

    def count_call(self, endpoint: str) -> None:
        with self._lock:
            self.calls[endpoint] += 1

    def accept(self, messages: list[dict[str, Any]]) -> None:
        """Store messages, dropping any whose messageId was already seen (Segment dedup)."""
        with self._lock:
            self.batch_sizes.append(len(messages))
            for msg in messages:
                mid = msg.get("messageId")
                if mid in self._seen:
                    self.duplicates += 1
                    continue
                if mid:
                    self._seen.add(mid)
                self.events.append(msg)

    def reject(self, messages: list[dict[str, Any]], reason: str) -> None:
        """Record messages Segment answers 200 for but never ingests (e.g. unknown write key)."""
        with self._lock:
            self.rejected.extend({"reason": reason, "message": m} for m in messages)

    def debugger(self, write_key: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """The source's live event view (Segment app > Sources > Debugger): the latest events
        the source behind `write_key` ingested; nothing for a key no source has."""
        if write_key not in self.write_keys:
            return []
        with self._lock:
            return list(self.events[-limit:])

    def events_of(self, type_: str | None = None, user_id: str | None = None) -> list[dict]:
        with self._lock:
            return [
                e
                for e in self.events
                if (type_ is None or e.get("type") == type_)
                and (user_id is None or e.get("userId") == user_id)
            ]

    def events_since(self, start: int) -> list[dict]:
        """The events ingested after the first `start`, in arrival order: the stream the source's
        Debugger shows live (Segment docs, Connections > Sources > "Using the Source Debugger"),
        read from where a reader stopped rather than as its latest page (`debugger`). No
        behaviour of the emulator's API changes; tests and benches read it."""
        with self._lock:
            return self.events[start:]

    def summary(self, *, with_events: bool = False) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {
                "events": len(self.events),
                "rejected": len(self.rejected),
                "duplicates": self.duplicates,
                "calls": dict(self.calls),
                "batch_sizes": list(self.batch_sizes),
            }
            if with_events:
                out["event_list"] = list(self.events)
            return out
