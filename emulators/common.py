"""Pieces every vendor emulator shares: serving an ASGI app on loopback, and fault injection."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """Runs an ASGI app under uvicorn in a background thread (tests, local stack, benches)."""

    def __init__(
        self,
        app: object,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: Path | None = None,
        keyfile: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port()
        tls = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)} if certfile else {}
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", lifespan="off", **tls  # type: ignore[arg-type]
        )
        self.server = uvicorn.Server(config)
        self.scheme = "https" if certfile else "http"
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"emulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Faults:
    """Faults a test plants in an emulator: the next N requests fail with `status`, plus latency.

    `status=429` makes the emulator answer with its vendor's real rate-limit response.
    `plant_lost` loses the answer instead: the request is carried out, then the caller gets a
    gateway error, as when a response times out on its way back (the write happened anyway).
    """

    latency_s: float = 0.0
    fail_next: int = 0
    status: int = 503
    retry_after_s: int = 1
    lose_next: int = 0
    lose_path: str = ""  # only requests whose path contains this lose their answer
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def plant(self, count: int, status: int = 503, retry_after_s: int = 1) -> None:
        with self._lock:
            self.fail_next, self.status, self.retry_after_s = count, status, retry_after_s

    def take(self) -> int | None:
        """The status to fail this request with, or None to serve it."""
        with self._lock:
            if self.fail_next <= 0:
                return None
            self.fail_next -= 1
            return self.status

    def plant_lost(self, count: int, path_contains: str = "") -> None:
        with self._lock:
            self.lose_next, self.lose_path = count, path_contains

    def take_lost(self, path: str) -> bool:
        """Whether this carried-out request's answer is lost."""
        with self._lock:
            # "...$" matches only paths ending so (a collection insert, not the upsert below it)
            wanted = (path.endswith(self.lose_path[:-1]) if self.lose_path.endswith("$")
                      else self.lose_path in path)
            if self.lose_next <= 0 or not wanted:
                return False
            self.lose_next -= 1
            return True

    def clear(self) -> None:
        with self._lock:
            self.fail_next, self.latency_s, self.lose_next = 0, 0.0, 0
