"""`leadflow forget`, `leadflow keys ...` and `leadflow codec-server`: erasure, master-key
rotation and the Web UI's codec server (docs/privacy.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from temporalio.client import Client

from config.settings import Settings, load_settings

keys_app = typer.Typer(help="Payload encryption keys: make one, rotate, see what wraps what.",
                       no_args_is_help=True)


def forget(
    email: str,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be erased")] = False,
    reason: Annotated[str, typer.Option(help="recorded in the audit entry")] = "erasure request",
    actor: Annotated[str, typer.Option(help="who asked (audit entry)")] = "cli",
) -> None:
    """Erase a person (GDPR): close their lead, delete its data key (its Temporal history
    becomes unreadable), pseudonymise the ledger, ask vendors to erase what leadflow created,
    refuse later events for the email. Idempotent."""
    from leadflow.cli_session import with_client
    from privacy.converter import encryption_keys
    from privacy.erasure import eraser

    async def run(client: Client, settings: Settings) -> None:
        if encryption_keys(settings) is None:
            typer.echo("forget needs LEADFLOW_ENCRYPTION_KEYS (docs/privacy.md)", err=True)
            raise typer.Exit(2)
        done = await eraser(client, settings).forget(email, actor, reason, dry_run=dry_run)
        typer.echo(f"{'dry run: ' if dry_run else ''}lead {done.pseudonym}"
                   f"{' (already forgotten)' if done.already_forgotten else ''}")
        for system, outcome in done.systems.items():
            typer.echo(f"  {system}: {outcome}")

    with_client(run)


@keys_app.command("new")
def keys_new(key_id: Annotated[str | None, typer.Argument(help="default: today's date")] = None) -> None:
    """Print a new `id:base64key` entry: put it first in LEADFLOW_ENCRYPTION_KEYS."""
    from privacy.keys import new_key_entry

    typer.echo(new_key_entry(key_id or datetime.now(UTC).strftime("%Y-%m-%d")))


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Wrap every lead's data key with the newest master key (after putting a new one first)."""
    from privacy.converter import key_store

    store = key_store(load_settings())
    typer.echo(f"rewrapped {store.rewrap()} keys with {store.keys.current_id}")


@keys_app.command("status")
def keys_status() -> None:
    """How many data keys each master key wraps: an old key with 0 is no longer needed by them."""
    from privacy.converter import key_store

    store = key_store(load_settings())
    counts = store.wrapped_by()
    typer.echo(json.dumps({key_id: counts.get(key_id, 0) for key_id in store.keys.keys}
                          | {k: v for k, v in counts.items() if k not in store.keys.keys}, indent=2))


def codec_server(
    host: Annotated[str | None, typer.Option(help="bind address (LEADFLOW_CODEC_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (LEADFLOW_CODEC_PORT)")] = None,
) -> None:
    """Serve Temporal's remote codec protocol (POST /decode, /encode) for the Web UI and CLI."""
    from leadflow.logs import configure
    from privacy.codec_server import main

    configure(load_settings().log_format)
    main(host, port)
