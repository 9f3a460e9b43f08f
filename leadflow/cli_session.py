"""Running one CLI action against Temporal: connect, act, and let the client go cleanly."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable

import typer
from temporalio.client import Client

from config.settings import Settings, load_settings
from lifecycle.events import normalize_email


def lead_email(email: str) -> str:
    """The EMAIL argument in its normal form, or a usage error (exit 2) saying why not."""
    try:
        return normalize_email(email)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="EMAIL") from exc


def with_client(action: Callable[[Client, Settings], Awaitable[None]]) -> None:
    """Runs `action` with a connected client, then drops the client before the loop ends
    (a Temporal client alive at interpreter exit can abort the process, sdk-python#300)."""
    from config.temporal import connect

    settings = load_settings()

    async def run() -> None:
        try:
            client = await connect(settings)
        except RuntimeError as exc:
            typer.echo(f"cannot reach Temporal at {settings.temporal_address}: is `leadflow up` "
                       f"or a server running? ({exc})".replace("\n", " "), err=True)
            raise typer.Exit(2) from exc
        try:
            await action(client, settings)
        finally:
            del client
            gc.collect()
            await asyncio.sleep(0.1)

    asyncio.run(run())
