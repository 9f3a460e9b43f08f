"""`leadflow account show DOMAIN`: an account's aggregate as its AccountWorkflow keeps it."""

from __future__ import annotations

from typing import Annotated

import typer
from temporalio.client import Client

from config.playbook_loader import PlaybookError, stock_playbook
from config.settings import Settings, load_settings
from lifecycle.account import canonical_domain

account_app = typer.Typer(help="Accounts: the companies leads belong to.", no_args_is_help=True)


@account_app.command("show")
def show(domain: Annotated[str, typer.Argument(help="the account's domain, e.g. acme.io")]) -> None:
    """The account's stage, flags, owner, leads by stage, touches and CRM record ids (JSON)."""
    from leadflow.cli_session import with_client
    from workflows.account_client import AccountClient

    settings = load_settings()
    try:  # an alias or sub-domain names its account
        domain = canonical_domain(domain, stock_playbook(settings.playbook).account_domains)
    except PlaybookError:
        domain = domain.strip().lower()

    async def run(client: Client, settings: Settings) -> None:
        view = await AccountClient(client, settings.task_queue).view(domain)
        if view is None:
            typer.echo(f"no account {domain}: no lead of it has reported yet (personal "
                       "addresses belong to no account)", err=True)
            raise typer.Exit(1)
        typer.echo(view.model_dump_json(indent=2))

    with_client(run)
