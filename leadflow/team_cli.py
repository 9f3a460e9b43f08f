"""`leadflow team ...`: see and change a team's router (members, weights, caps, away dates) and
reconcile its members with HubSpot owners and Salesforce users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from temporalio.client import Client

from config.playbook_loader import PlaybookError, stock_playbook
from config.routing import Team
from config.settings import Settings, load_settings

team_app = typer.Typer(help="Routing teams: members, weights, caps, away dates.", no_args_is_help=True)

PlaybookOpt = Annotated[str | None, typer.Option("--playbook", help="default: LEADFLOW_PLAYBOOK")]
DateArg = Annotated[datetime, typer.Argument(formats=["%Y-%m-%d"], help="YYYY-MM-DD: back on that day")]


def _team(name: str, playbook: str) -> Team:
    try:
        routing = stock_playbook(playbook).routing
    except PlaybookError as exc:
        raise typer.BadParameter(str(exc), param_hint="--playbook") from exc
    if routing is None:
        raise typer.BadParameter(f"playbook {playbook} has no routing", param_hint="--playbook")
    try:
        return routing.team(name)
    except KeyError:
        known = ", ".join(t.name for t in routing.teams)
        raise typer.BadParameter(f"no team {name!r} in {playbook}; known: {known}",
                                 param_hint="TEAM") from None


def _run(team: str, playbook: str | None, action: Callable[[Any, Team], Awaitable[None]]) -> None:
    """Runs `action(TeamClient, team)`, letting the Temporal client go before the loop ends."""
    from leadflow.cli_session import with_client
    from workflows.team_client import TeamChangeRejected, TeamClient

    name = playbook or load_settings().playbook
    found = _team(team, name)  # a wrong name is refused before anything connects

    async def run(client: Client, settings: Settings) -> None:
        try:
            await action(TeamClient(client, settings.task_queue, name), found)
        except TeamChangeRejected as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from exc

    with_client(run)


def _change(team: str, playbook: str | None, **change: Any) -> None:
    from workflows.team_models import MemberChange

    async def act(teams: Any, found: Team) -> None:
        view = await teams.change(found, MemberChange(**change))
        typer.echo(view.model_dump_json(indent=2))

    _run(team, playbook, act)


@team_app.command("list")
def list_teams(playbook: PlaybookOpt = None) -> None:
    """The playbook's teams with their calendars and members."""
    name = playbook or load_settings().playbook
    routing = stock_playbook(name).routing
    for team in routing.teams if routing else []:
        cal = team.calendar
        members = ", ".join(f"{m.email} (w{m.weight})" for m in team.members)
        typer.echo(f"{team.name}: {cal.timezone} {','.join(cal.days)} {cal.start:%H:%M}-{cal.end:%H:%M}"
                   f" manager={team.manager or '-'} members: {members or '-'}")


@team_app.command("show")
def show(team: str, playbook: PlaybookOpt = None) -> None:
    """The router's live view: members, weights, caps, away dates, today's and total counts."""

    async def act(teams: Any, found: Team) -> None:
        typer.echo((await teams.view(found)).model_dump_json(indent=2))

    _run(team, playbook, act)


@team_app.command("add-member")
def add_member(team: str, email: str, weight: int = 1, cap: int | None = None, name: str = "",
               playbook: PlaybookOpt = None) -> None:
    """Add a member (or update one) with a weight and an optional daily cap."""
    _change(team, playbook, email=email, weight=weight, daily_cap=cap, name=name or None)


@team_app.command("remove-member")
def remove_member(team: str, email: str, playbook: PlaybookOpt = None) -> None:
    """Take a member out of the rotation."""
    _change(team, playbook, email=email, remove=True)


@team_app.command("set-weight")
def set_weight(team: str, email: str, weight: int, playbook: PlaybookOpt = None) -> None:
    """A weight of 2 gets twice the leads of a weight of 1."""
    _change(team, playbook, email=email, weight=weight)


@team_app.command("set-cap")
def set_cap(team: str, email: str, cap: Annotated[int | None, typer.Argument()] = None,
            playbook: PlaybookOpt = None) -> None:
    """Most leads a member gets per day (in the team's time zone); no CAP removes the cap."""
    _change(team, playbook, email=email, daily_cap=cap, no_cap=cap is None)


@team_app.command("away")
def away(team: str, email: str, until: DateArg, playbook: PlaybookOpt = None) -> None:
    """Skip a member until a date (out of office); they are back on UNTIL."""
    _change(team, playbook, email=email, away_until=until.date())


@team_app.command("back")
def back(team: str, email: str, playbook: PlaybookOpt = None) -> None:
    """End a member's away period now."""
    _change(team, playbook, email=email, back=True)


@team_app.command("sync-owners")
def sync_owners(team: str, playbook: PlaybookOpt = None) -> None:
    """Match members with HubSpot owners and Salesforce users by email (ids, deactivations)."""

    async def act(teams: Any, found: Team) -> None:
        typer.echo((await teams.sync_owners(found)).model_dump_json(indent=2))

    _run(team, playbook, act)
