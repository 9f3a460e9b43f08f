"""Segment tracking API emulator: `start()` serves it on loopback for tests and the local stack."""

from __future__ import annotations

from collections.abc import Iterable

from emulators.common import ServerThread
from emulators.segment.app import create_app
from emulators.segment.state import DEFAULT_WRITE_KEY, SegmentState

__all__ = ["DEFAULT_WRITE_KEY", "Running", "SegmentState", "create_app", "start"]


class Running:
    """A started emulator: its URL, its inspectable state, and how to stop it."""

    def __init__(self, server: ServerThread, state: SegmentState, write_key: str) -> None:
        self.server = server
        self.state = state
        self.write_key = write_key

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point leadflow's settings at this emulator."""
        return {"SEGMENT_HOST": self.url, "SEGMENT_WRITE_KEY": self.write_key}

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    port: int = 0,
    *,
    write_keys: Iterable[str] = (DEFAULT_WRITE_KEY,),
    strict_auth: bool = False,
    host: str = "127.0.0.1",
) -> Running:
    """Serve the emulator on loopback.

    By default it answers as real Segment does: 200 for an unknown key, data dropped;
    `strict_auth=True` answers 401 instead.
    """
    keys = list(write_keys)
    state = SegmentState(keys, strict_auth=strict_auth)
    server = ServerThread(create_app(state), host=host, port=port).start()
    return Running(server, state, keys[0])
