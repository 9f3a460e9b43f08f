"""Which event ids a lead has seen, for as long as any sender may deliver them again.

Senders redeliver for hours: HubSpot re-sends a failed webhook up to 10 times with exponential
backoff from 2 minutes (2, 4, 8 ... minutes, about 34 hours in all; HubSpot's webhooks overview,
"Retries"), Segment retries a destination call for four hours (segment-docs, "Retries between
Segment and destinations"). So the window is time-based, 72 hours, with a hard cap so one very
busy lead stays bounded; only ids older than both are forgotten.

Each id is kept as an 8-byte BLAKE2b digest plus the Unix second it was first seen, packed and
base64-encoded (16 characters an id), oldest first, so the set travels in the lead's state
across continue-as-new at a known cost (bench/dedup_window.py).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import struct
from datetime import datetime, timedelta

from pydantic import BaseModel, PrivateAttr

WINDOW = timedelta(hours=72)
MAX_IDS = 10_000
_ENTRY = struct.Struct(">8sI")  # digest, first seen (Unix seconds)
# 12 bytes an entry, a multiple of 3: base64 of a run of entries is the concatenation of each
# entry's base64, so adding or dropping an id never re-encodes the whole window (a flood of
# thousands of queued events decides each at a cost that does not grow with the window).
_B64 = _ENTRY.size // 3 * 4
assert _ENTRY.size % 3 == 0


def _digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode(), digest_size=8).digest()


class SeenEvents(BaseModel):
    packed: str = ""  # base64 of (digest, first-seen second) entries, oldest first
    _decoded: bytes | None = PrivateAttr(default=None)  # `packed` decoded, once per copy

    def _raw(self) -> bytes:
        if self._decoded is None:
            self._decoded = base64.b64decode(self.packed)
        return self._decoded

    def __len__(self) -> int:
        return len(self._raw()) // _ENTRY.size

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        raw, digest = self._raw(), _digest(event_id)
        at = raw.find(digest)
        while at != -1:  # a digest matching across two entries is not a hit
            if at % _ENTRY.size == 0:
                return True
            at = raw.find(digest, at + 1)
        return False

    def remember(self, event_id: str, now: datetime) -> SeenEvents:
        """These ids plus `event_id`, first seen `now`; ids past the window or the cap dropped."""
        entry = _ENTRY.pack(_digest(event_id), int(now.timestamp()))
        return _bounded(self._raw() + entry, now, self.packed + base64.b64encode(entry).decode())

    def merged(self, other: SeenEvents, now: datetime) -> SeenEvents:
        """Both sets (a merge): each id once, at the time it was first seen by either lead."""
        first: dict[bytes, int] = {}
        for digest, seen in heapq.merge(_entries(self._raw()), _entries(other._raw()),
                                        key=lambda e: e[1]):
            first.setdefault(digest, seen)
        return _bounded(b"".join(_ENTRY.pack(d, s) for d, s in first.items()), now)

    @classmethod
    def of(cls, event_ids: list[str], now: datetime) -> SeenEvents:
        """A set from a list of ids, all taken as first seen `now` (state saved before windows)."""
        second = int(now.timestamp())
        return _bounded(b"".join(_ENTRY.pack(_digest(e), second) for e in event_ids), now)


def _entries(raw: bytes) -> list[tuple[bytes, int]]:
    return list(_ENTRY.iter_unpack(raw))


def _bounded(raw: bytes, now: datetime, packed: str | None = None) -> SeenEvents:
    """The entries of `raw` within the window and the cap; `packed`, when given, is `raw`
    already encoded."""
    cutoff = int((now - WINDOW).timestamp())
    start = max(0, len(raw) - MAX_IDS * _ENTRY.size)
    while start < len(raw) and _ENTRY.unpack_from(raw, start)[1] < cutoff:
        start += _ENTRY.size  # oldest first: expired ids are a prefix
    kept = raw[start:] if start else raw
    if packed is None:
        packed = base64.b64encode(kept).decode()
    elif start:
        packed = packed[start // _ENTRY.size * _B64:]
    seen = SeenEvents(packed=packed)
    seen._decoded = kept
    return seen
