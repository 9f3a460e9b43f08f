"""`leadflow explain` and `leadflow report`: reading the ledger (no Temporal needed)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.playbook import StageKind
from config.playbook_loader import PlaybookError, stock_playbook
from config.settings import load_settings


class ExplainFormat(StrEnum):
    text = "text"
    json = "json"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _engine() -> Engine:
    from ledger.engine import ledger_engine

    try:
        return ledger_engine(load_settings())
    except SQLAlchemyError as exc:
        typer.echo(f"cannot open the ledger database (LEADFLOW_DATABASE_URL): {exc.__class__.__name__}: "
                   f"{str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(2) from exc


def explain(
    email: str,
    format: Annotated[ExplainFormat, typer.Option("--format", help="text or json")] = ExplainFormat.text,
) -> None:
    """A lead's whole timeline from the ledger: stages, scores with reasons, SLAs, owners, syncs."""
    from leadflow.cli_session import lead_email
    from ledger.timeline import lead_timeline, render_timeline

    email = lead_email(email)
    timeline = lead_timeline(_engine(), email)
    if timeline is None:
        typer.echo(f"the ledger has nothing about {email}", err=True)
        raise typer.Exit(1)
    if format == ExplainFormat.json:
        typer.echo(json.dumps(timeline.model_dump(mode="json"), indent=2))
    else:
        typer.echo(render_timeline(timeline))


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date or time: {value!r} (e.g. 2026-01-31 or "
                                 "2026-01-31T09:00:00Z)", param_hint=option) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def report(
    since: Annotated[str | None, typer.Option(help="start (ISO date/time, UTC); default 30 days ago")] = None,
    until: Annotated[str | None, typer.Option(help="end, exclusive (ISO, UTC); default now")] = None,
    playbook: Annotated[str | None, typer.Option(help="only leads of this playbook")] = None,
    channel: Annotated[str | None, typer.Option(help="only leads from this source channel")] = None,
    campaign: Annotated[str | None, typer.Option(help="only leads of this campaign")] = None,
    team: Annotated[str | None, typer.Option(help="only leads routed to this team")] = None,
    format: Annotated[ReportFormat, typer.Option("--format", help="table, json or csv")] = ReportFormat.table,
    html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML page")] = None,
    outcomes: Annotated[bool, typer.Option("--outcomes", help="conversion to opportunity and won by "
                                           "score band, fit grade, channel and campaign")] = False,
    opportunity_stage: Annotated[list[str], typer.Option(help="with --outcomes: a stage that counts as "
                                                         "an opportunity (repeatable)")] = [],  # noqa: B006
) -> None:
    """Funnel figures for a period: stage entries and conversion, time in stage, SLAs, reasons, touches."""
    from ledger.report import ReportFilters, compute_report
    from ledger.report_html import render_html
    from ledger.report_text import render_csv, render_json, render_table
    from ledger.store import period_facts

    end = _when(until, "--until") or datetime.now(UTC)
    start = _when(since, "--since") or end - timedelta(days=30)
    if start >= end:
        raise typer.BadParameter("--since must be before --until", param_hint="--since")
    filters = ReportFilters(since=start, until=end, playbook=playbook, channel=channel,
                            campaign=campaign, team=team)
    facts = period_facts(_engine(), start, end, playbook)
    name = playbook or (Counter(f.playbook for f in facts).most_common(1) or [("", 0)])[0][0]
    if outcomes:
        _print_outcomes(facts, start, end, name, opportunity_stage, format)
        return
    order, funnel = _stages_of(name)
    try:
        pb = stock_playbook(name)
    except PlaybookError:
        pb = None
    result = compute_report(facts, filters, order, _renames(), pb)
    render = {ReportFormat.table: render_table, ReportFormat.json: render_json,
              ReportFormat.csv: render_csv}[format]
    typer.echo(render(result), nl=False)
    if html is not None:
        html.write_text(render_html(result, funnel or None), encoding="utf-8")
        typer.echo(f"wrote {html}", err=True)


def _renames() -> dict[str, dict[str, str]]:
    """Per playbook, old stage names -> today's, from the loaded versions' migrations."""
    from config.playbook_loader import playbook_catalog

    settings = load_settings()
    try:
        catalog = playbook_catalog(settings.playbook_directory, settings.playbook)
    except PlaybookError:
        return {}
    return {name: catalog.renames(name) for name in catalog.current}
def _print_outcomes(facts: list, start: datetime, end: datetime, playbook: str,  # type: ignore[type-arg]
                    opportunity: list[str], format: ReportFormat) -> None:
    import csv
    import io

    from ledger.outcomes import outcomes
    from ledger.report_text import _fmt, _table

    try:
        pb = stock_playbook(playbook)
        won = {s.name for s in pb.stages if s.kind == StageKind.WON}
    except PlaybookError:
        won = {"Closed Won"}
    rows = outcomes(facts, start, end, set(opportunity or ["Opportunity Created"]), won)
    if format == ReportFormat.json:
        typer.echo(json.dumps([r.model_dump() for r in rows], indent=2))
    elif format == ReportFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(list(rows[0].model_dump()) if rows else ["dimension"])
        for r in rows:
            writer.writerow(list(r.model_dump().values()))
        typer.echo(buf.getvalue(), nl=False)
    else:
        typer.echo("\n".join(_table(
            f"Outcomes {start:%Y-%m-%d} .. {end:%Y-%m-%d} UTC", ["by", "value", "leads", "opportunity",
                                                               "won", "opportunity %", "won %"],
            [[r.dimension, r.value, str(r.leads), str(r.opportunities), str(r.won),
              _fmt(r.opportunity_rate, True), _fmt(r.won_rate, True)] for r in rows])))


def _stages_of(playbook: str) -> tuple[list[str], list[str]]:
    """The playbook's stage order, and its funnel: stages that are not off-ramps."""
    try:
        pb = stock_playbook(playbook)
    except PlaybookError:
        return [], []
    off = {StageKind.LOST, StageKind.DISQUALIFIED, StageKind.NURTURE}
    return [s.name for s in pb.stages], [s.name for s in pb.stages if s.kind not in off]


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
    app.command("report")(report)
