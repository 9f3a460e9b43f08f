"""`leadflow`: the command line for revenue-ops engineers and operators."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from config.playbook_loader import PlaybookError, load_playbook, stock_playbook
from config.playbook_versions import version_label
from config.settings import Settings, load_settings
from leadflow import ledger_cli, playbook_cli
from leadflow.account_cli import account_app
from leadflow.backfill_cli import backfill, schedules_app
from leadflow.cli_session import lead_email
from leadflow.privacy_cli import codec_server, forget, keys_app
from leadflow.show import render_playbook
from leadflow.team_cli import team_app
from lifecycle.scoring import fit_items
from lifecycle.state import LeadState
from workflows.lead_client import LeadClient

app = typer.Typer(help="leadflow: every lead one Temporal workflow that owns its stage.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
playbook_app = typer.Typer(help="Check and read playbooks.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")
playbook_cli.register(playbook_app)  # simulate, migrate
app.add_typer(schedules_app, name="schedules")
app.command("backfill")(backfill)
app.add_typer(team_app, name="team")
app.add_typer(account_app, name="account")
app.add_typer(keys_app, name="keys")
app.command("forget")(forget)
app.command("codec-server")(codec_server)


@playbook_app.command("validate")
def playbook_validate(
    paths: Annotated[list[Path], typer.Argument(help="Playbook YAML files or a directory")],
) -> None:
    """Check playbooks; print every problem as file: field: reason and exit 1 if any. A directory
    is checked as LEADFLOW_PLAYBOOK_DIR is at start-up (selection, switches, versions)."""
    failed = False
    for path in [p for p in paths if p.is_dir()]:
        from config.playbook_catalog import load_catalog

        try:
            catalog = load_catalog(path, load_settings().playbook)
        except PlaybookError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            continue
        for loaded in catalog.versions_all():
            typer.echo(f"{loaded.file}: ok ({loaded.playbook.name} {version_label(loaded.playbook)})")
    for path in [p for p in paths if not p.is_dir()]:
        try:
            pb = load_playbook(path)
        except PlaybookError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            continue
        typer.echo(f"{path}: ok ({len(pb.stages)} stages, {len(pb.transitions)} transitions)")
    raise typer.Exit(1 if failed else 0)


@playbook_app.command("show")
def playbook_show(path: Path) -> None:
    """Print the stages, transitions, SLAs and scoring of a playbook."""
    try:
        typer.echo(render_playbook(load_playbook(path)))
    except PlaybookError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


@app.command("up")
def up(
    port: Annotated[int, typer.Option(help="Temporal gRPC port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    emulator_port: Annotated[int, typer.Option(help="first of three emulator ports")] = 8701,
    metrics_port: Annotated[int, typer.Option(help="Prometheus port, unless LEADFLOW_METRICS_PORT")] = 9464,
    ingest_port: Annotated[int | None, typer.Option(help="ingest API port [LEADFLOW_INGEST_PORT]")] = None,
    codec_port: Annotated[int | None, typer.Option(help="codec server port [LEADFLOW_CODEC_PORT]")] = None,
    demo: Annotated[bool, typer.Option(help="seed demo leads across the three stock playbooks")] = False,
) -> None:
    """Run the whole local stack: Temporal dev server + UI, emulators for vendors without
    credentials, and the workers. Ctrl-C stops it; data stays under LEADFLOW_DATA_DIR."""
    from leadflow.stack import Ports
    from leadflow.stack import up as run_stack

    emulators = {"hubspot": emulator_port, "salesforce": emulator_port + 1, "segment": emulator_port + 2}
    try:
        run_stack(Ports(temporal=port, ui=ui_port, emulators=emulators, metrics=metrics_port,
                        ingest=ingest_port, codec=codec_port), demo=demo)
    except RuntimeError as exc:
        typer.echo(f"leadflow up: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("emulators")
def emulators() -> None:
    """Run the HubSpot, Salesforce and Segment emulators on ports 8701-8703 until Ctrl-C."""
    from emulators.run_all import main

    main([])


@app.command("setup")
def setup(vendor: Annotated[str, typer.Argument(help="hubspot, salesforce or temporal")]) -> None:
    """Provision leadflow's custom fields: HubSpot properties (idempotent), Salesforce metadata;
    `temporal`: the namespace and leadflow's search attributes on a self-hosted cluster."""
    from worker import connector_factory

    settings = load_settings()
    if vendor == "temporal":
        _setup_temporal(settings)
        return
    if vendor not in ("hubspot", "salesforce"):
        raise typer.BadParameter("hubspot or salesforce", param_hint="VENDOR")
    for line in connector_factory(settings)(vendor, settings.playbook).provision():
        typer.echo(line)


@app.command("doctor")
def doctor() -> None:
    """Prove each configured vendor accepts what leadflow sends (token, scopes, fields; a
    tracked Segment test event seen by the source); exit 1 if a check fails."""
    from leadflow.doctor import report, run
    from worker import configured_vendors, connector_factory

    settings = load_settings()
    text, ok = report(run(settings, configured_vendors(settings), connector_factory(settings)))
    typer.echo(text)
    raise typer.Exit(0 if ok else 1)


def _setup_temporal(settings: Settings) -> None:
    from leadflow.temporal_setup import setup_temporal

    async def run() -> None:
        for line in await setup_temporal(settings):
            typer.echo(line)
        gc.collect()  # drop the client before the loop ends (sdk-python#300)
        await asyncio.sleep(0.1)

    asyncio.run(run())


@app.command("worker")
def worker() -> None:
    """Run the worker against LEADFLOW_TEMPORAL_ADDRESS until SIGINT/SIGTERM."""
    import worker as worker_module
    from leadflow.logs import configure

    settings = load_settings()
    _check_playbooks(settings)
    configure(settings.log_format)
    asyncio.run(worker_module.main())


@app.command("ingest")
def ingest(
    host: Annotated[str | None, typer.Option(help="bind address (LEADFLOW_INGEST_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (LEADFLOW_INGEST_PORT)")] = None,
) -> None:
    """Serve the inbound HTTP API (POST /v1/events, Segment/HubSpot/Salesforce webhooks,
    /healthz, /metrics, /openapi.json) until SIGINT/SIGTERM."""
    from ingest.server import main
    from leadflow.logs import configure

    settings = load_settings()
    _check_playbooks(settings)
    configure(settings.log_format)
    main(host, port)


def _check_playbooks(settings: Settings) -> None:
    """Every playbook of LEADFLOW_PLAYBOOK_DIR, checked before a service starts: a bad one stops
    it with each problem as file: field: reason (exit 2)."""
    from config.playbook_loader import playbook_catalog

    try:
        playbook_catalog(settings.playbook_directory, settings.playbook)
    except PlaybookError as exc:
        typer.echo(f"leadflow: the playbooks in {settings.playbook_directory} have problems:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from exc


@app.command("event")
def event(
    email: str,
    name: Annotated[str, typer.Argument(help="Lifecycle event kind or a mapped event name")],
    prop: Annotated[list[str], typer.Option("--prop", help="k=v, repeatable")] = [],  # noqa: B006
) -> None:
    """Send a fact about a lead (signal-with-start), e.g. `leadflow event ada@acme.io activated`."""
    from lifecycle.events import LeadEvent
    from lifecycle.mapping import to_kind

    email = lead_email(email)
    settings = load_settings()
    from config.playbook_loader import playbook_catalog
    kind = to_kind(playbook_catalog(settings.playbook_directory, settings.playbook).ingest_playbook(), name)
    ev = LeadEvent(event_id=uuid.uuid4().hex, kind=kind, name=name, occurred_at=datetime.now(UTC),
                   actor="cli", properties=_props(prop))

    async def send(leads: LeadClient) -> None:
        await leads.send_event(email, ev)
        typer.echo(f"sent {kind.value} to lead:{email}")

    _with_leads(send)


@app.command("command")
def command(
    email: str,
    kind: Annotated[str, typer.Argument(help="confirm_sql, disqualify, snooze, won, ...")],
    prop: Annotated[list[str], typer.Option("--prop", help="k=v, repeatable")] = [],  # noqa: B006
) -> None:
    """Run a person's command on a lead; prints the new stage or why it was refused."""
    from workflows.lead_client import CommandRejected
    from workflows.lead_models import LeadCommand

    email = lead_email(email)

    async def run(leads: LeadClient) -> None:
        try:
            view = await leads.command(email, LeadCommand(kind=kind, properties=_props(prop),  # type: ignore[arg-type]
                                                          actor="cli"))
        except CommandRejected as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(view.model_dump_json(indent=2))

    _with_leads(run)


@app.command("show")
def show(email: str) -> None:
    """Print a lead's current state (stage, score with reasons, SLA, history, the playbook version
    it runs) as JSON."""
    email = lead_email(email)

    async def run(leads: LeadClient) -> None:
        state = await leads.state(email)
        if state is None:  # started moments ago: its first step has not run yet
            typer.echo(f"lead:{email} has not run its first step yet; try again", err=True)
            raise typer.Exit(1)
        shown = {**state.model_dump(mode="json"), "fit_points": _fit(state)}
        ref = await leads.playbook_version(email)  # the version the lead runs: its carried copy
        shown["playbook_version"] = ref.model_dump(mode="json") if ref else None
        view = await leads.view(email)  # fit grade, ICP, handoff and framework completeness
        shown["qualification"] = view.model_dump(
            mode="json", include={"fit_grade", "icp", "icp_reasons", "handoff", "frameworks"})
        typer.echo(json.dumps(shown, indent=2))

    _with_leads(run)


def _fit(state: LeadState) -> list[dict[str, object]]:
    """The fit points the lead's fields earn now (scoring keeps only behaviour in score_items)."""
    items = fit_items(stock_playbook(state.playbook).scoring, state.fields, datetime.now(UTC))
    return [{"points": i.points, "reason": i.reason} for i in items]


def _with_leads(action: Callable[[LeadClient], Awaitable[None]]) -> None:
    """Runs `action` with a LeadClient on the configured task queue and playbooks (a new lead
    starts in the playbook LEADFLOW_PLAYBOOK_DIR's selection rules pick)."""
    from config.playbook_loader import playbook_catalog
    from leadflow.cli_session import with_client

    with_client(lambda client, settings: action(LeadClient(
        client, settings.task_queue, settings.playbook,
        playbook_catalog(settings.playbook_directory, settings.playbook))))


def _props(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected k=v, got {pair!r}", param_hint="--prop")
        result[key.strip()] = value
    return result


ledger_cli.register(app)  # explain, report


if __name__ == "__main__":
    app()
