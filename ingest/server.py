"""Serving the ingest app with uvicorn: `leadflow ingest`, and inside `leadflow up`.

    await run_ingest(settings, stop)   # until `stop` is set

The caller owns the signals: uvicorn's own handlers are switched off so that one Ctrl-C
stops the whole local stack in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import uvicorn
from starlette.types import ASGIApp

from config.settings import Settings, load_settings
from ingest.app import create_app

log = logging.getLogger("leadflow.ingest")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])


@contextlib.asynccontextmanager
async def serving(settings: Settings, port: int | None = None) -> AsyncIterator[str]:
    """Serves the app on LEADFLOW_INGEST_HOST until the block ends; yields its base URL.
    `port=0` picks a free port (tests, benches)."""
    async with serving_app(create_app(settings), settings.ingest_host,
                           settings.ingest_port if port is None else port) as url:
        yield url


# uvicorn closes a kept-alive connection after 5 s idle: the moment httpx (and other senders)
# still count it reusable, so a request sent just then dies unanswered (bench/ingest_latency.py
# at 20/s: httpx.ReadError). Behind a load balancer the same race is a 502: ELB's documentation
# ("Edit attributes for your Application Load Balancer", Connection idle timeout, 60 s by default)
# asks the application's idle timeout to be the longer one, so the balancer closes first.
KEEP_ALIVE_S = 75


@contextlib.asynccontextmanager
async def serving_app(app: ASGIApp, host: str, port: int) -> AsyncIterator[str]:
    """Serves an ASGI app with uvicorn until the block ends (ingest, the codec server)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                            access_log=False, timeout_keep_alive=KEEP_ALIVE_S)
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start (port taken, ...)
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{server.port}"
    finally:
        server.should_exit = True
        await task


async def run_ingest(settings: Settings, stop: asyncio.Event) -> None:
    """Serves POST /v1/events and the webhooks on LEADFLOW_INGEST_HOST:PORT until `stop` is set."""
    async with serving(settings) as url:
        log.info("ingest listening on %s (OpenAPI at %s/openapi.json)", url, url)
        await stop.wait()


def serve_until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Runs a service until SIGINT or SIGTERM sets its stop event (ingest, the codec server)."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(stop)

    asyncio.run(serve())


def main(host: str | None = None, port: int | None = None) -> None:
    settings = load_settings()
    updates = {k: v for k, v in (("ingest_host", host), ("ingest_port", port)) if v is not None}
    settings = settings.model_copy(update=updates)
    serve_until_signalled(lambda stop: run_ingest(settings, stop))
