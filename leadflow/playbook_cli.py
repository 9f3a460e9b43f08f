"""`leadflow playbook simulate` and `leadflow playbook migrate`: trying a new playbook on recorded
leads before rollout, and moving the leads in flight to a new version."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from config.playbook import Playbook
from config.playbook_catalog import PlaybookCatalog
from config.playbook_loader import PlaybookError, load_playbook, playbook_catalog
from config.playbook_versions import renames, version_label
from lifecycle.migration import stage_after
from lifecycle.selection import lead_attributes
from lifecycle.simulate import Comparison, SampleLead, compare, render_text
from workflows.lead_models import PlaybookMigration, PlaybookRef


def _catalog() -> PlaybookCatalog:
    from config.settings import load_settings

    settings = load_settings()
    try:
        return playbook_catalog(settings.playbook_directory, settings.playbook)
    except PlaybookError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date or time: {value!r}", param_hint=option) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _refuse(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def read_sample(path: Path) -> list[SampleLead]:
    """One lead a line; a bad line stops with its number and the field at fault."""
    leads = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(f"{path}: {exc}") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            leads.append(SampleLead.model_validate_json(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "<line>"
            raise _refuse(f"{path}:{number}: {where}: {err['msg']}") from exc
    return leads


def simulate(
    new_file: Annotated[Path, typer.Argument(help="the new playbook (YAML)")],
    leads: Annotated[Path | None, typer.Option("--leads", help="sample leads, JSON lines")] = None,
    from_ledger: Annotated[bool, typer.Option("--from-ledger", help="replay leads from the ledger")] = False,
    since: Annotated[str | None, typer.Option(help="--from-ledger: leads active since (ISO)")] = None,
    until: Annotated[str | None, typer.Option(help="replay timers up to (ISO, UTC); default now")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many leads")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="also write the comparison as HTML")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="list unchanged leads too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the totals as JSON")] = False,
) -> None:
    """Replay recorded leads through NEW.yaml and the current playbook (pure engine: no Temporal,
    no vendors) and print where each ends, the paths, teams and SLA outcomes that differ, and the
    funnel side by side."""
    try:
        new = load_playbook(new_file)
    except PlaybookError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if (leads is None) == (not from_ledger):
        raise _refuse("give --leads FILE or --from-ledger --since DATE")
    end = _date(until, "--until") or datetime.now(UTC)
    catalog = _catalog()
    sample = read_sample(leads) if leads is not None else _from_ledger(catalog, since, end, new.name)
    pairs = _with_current(catalog, sample, new)[:limit]
    if not pairs:
        typer.echo(f"no leads of playbook {new.name} to simulate", err=True)
        raise typer.Exit(1)
    result = compare(pairs, new, end, renames([new]), catalog.switch_targets(new))
    if as_json:
        typer.echo(json.dumps(_totals(result), indent=2))
    else:
        typer.echo(f"{new.name}: current {version_label(pairs[0][1])} vs new {version_label(new)} "
                   f"({new_file})\n")
        typer.echo(render_text(result, show_all), nl=False)
    if html_out is not None:
        html_out.write_text(render_html(result, new_file.name), encoding="utf-8")
        typer.echo(f"wrote {html_out}", err=True)


def _from_ledger(catalog: PlaybookCatalog, since: str | None, end: datetime, name: str) -> list[SampleLead]:
    from leadflow.ledger_cli import _engine
    from ledger.samples import samples_from_facts
    from ledger.store import period_facts

    start = _date(since, "--since")
    if start is None:
        raise typer.BadParameter("--from-ledger needs --since DATE", param_hint="--since")

    def playbook_of(n: str) -> Playbook | None:
        return catalog.current[n].playbook if n in catalog.current else None

    return samples_from_facts(period_facts(_engine(), start, end, name), playbook_of)


def _with_current(catalog: PlaybookCatalog, sample: list[SampleLead],
                  new: Playbook) -> list[tuple[SampleLead, Playbook]]:
    """Each lead with the playbook it runs today; only leads of NEW's playbook, unless NEW is a
    playbook the deployment does not have yet (then every lead is compared with it)."""
    pairs = []
    for lead in sample:
        name = lead.playbook or catalog.select(lead_attributes(lead.email, None, lead.fields, lead.source))
        if name not in catalog.current:
            raise _refuse(f"{lead.email}: no playbook {name!r} in {catalog.directory}")
        if name == new.name or new.name not in catalog.current:
            pairs.append((lead, catalog.current[name].playbook))
    return pairs


def _totals(c: Comparison) -> dict[str, object]:
    now, new = c.sla_totals()
    return {
        "leads": len(c.leads), "differ": len(c.changed),
        "end_elsewhere": sum(x.end_differs for x in c.leads),
        "other_path": sum(x.path_differs for x in c.leads),
        "other_teams": sum(x.owners_differ for x in c.leads),
        "other_sla": sum(x.sla_differs for x in c.leads),
        "moves": [{"current": a, "new": b, "leads": n} for (a, b), n in c.moves().items()],
        "sla": {"current": dict(now), "new": dict(new)},
        "funnel": [{"stage": s, "current": a, "new": b} for s, a, b in c.funnel()],
        "changed": [{"email": x.email, "current": x.current.stage, "new": x.new.stage,
                     "current_path": x.current.path, "new_path": x.new.path,
                     "current_owners": x.current.owners, "new_owners": x.new.owners,
                     "current_sla": dict(x.current.sla), "new_sla": dict(x.new.sla)}
                    for x in c.changed],
    }


def render_html(c: Comparison, title: str) -> str:
    """One self-contained page: totals, the funnel side by side, the leads that differ."""
    e = html.escape
    funnel = "".join(f"<tr><td>{e(s)}</td><td>{a}</td><td>{b}</td><td>{b - a:+d}</td></tr>"
                     for s, a, b in c.funnel())
    rows = "".join(
        f"<tr><td>{e(x.email)}</td><td>{e(x.current.stage)}</td><td>{e(x.new.stage)}</td>"
        f"<td>{e(' > '.join(x.current.path))}<br>{e(' > '.join(x.new.path))}</td>"
        f"<td>{e(', '.join(x.current.owners) or '-')}<br>{e(', '.join(x.new.owners) or '-')}</td>"
        f"<td>{e(', '.join(f'{k} x{n}' for k, n in sorted(x.current.sla.items())) or '-')}<br>"
        f"{e(', '.join(f'{k} x{n}' for k, n in sorted(x.new.sla.items())) or '-')}</td></tr>"
        for x in c.changed)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>simulate {e(title)}</title>"
            "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
            f"<h1>Simulation of {e(title)}</h1><p>{len(c.leads)} leads; {len(c.changed)} differ.</p>"
            "<h2>Funnel</h2><table><tr><th>stage</th><th>current</th><th>new</th><th>change</th></tr>"
            f"{funnel}</table><h2>Leads that differ</h2><table><tr><th>lead</th><th>ends now</th>"
            f"<th>ends new</th><th>path (now / new)</th><th>teams</th><th>SLA</th></tr>{rows}</table>"
            "</body></html>\n")


def migrate(
    from_version: Annotated[str, typer.Option("--from", help="the version leads run now (label or hash)")],
    to_version: Annotated[str, typer.Option("--to", help="the loaded version to move them to")],
    playbook: Annotated[str | None, typer.Option(help="the playbook, when several have that version")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only print what would move")] = False,
) -> None:
    """Move the running leads of one playbook version to another through the new file's
    `migrations:` map; refused, moving nothing, if any lead is in a stage the new version drops
    without a mapping."""
    from leadflow.cli_session import with_client

    catalog = _catalog()
    found = catalog.version(to_version, playbook)
    if len(found) != 1:
        what = "no loaded playbook has" if not found else "several playbooks have"
        typer.echo(f"{what} version {to_version!r} in {catalog.directory}"
                   + (" (name one with --playbook)" if found else ""), err=True)
        raise typer.Exit(2)
    target = found[0]
    new = target.playbook

    async def run(client, settings) -> None:  # type: ignore[no-untyped-def]
        from workflows.lead_client import LeadClient, MigrationRefused

        leads = LeadClient(client, settings.task_queue, settings.playbook)
        query = (f"WorkflowType = 'LeadWorkflow' AND ExecutionStatus = 'Running' "
                 f"AND TaskQueue = '{settings.task_queue}'")
        plan: list[tuple[str, PlaybookRef, str | None]] = []
        async for wf in client.list_workflows(query):
            email = wf.id.removeprefix("lead:")
            ref = await leads.playbook_version(email)
            if ref is None or ref.closed or ref.name != new.name or not _runs(ref, from_version):
                continue
            plan.append((email, ref, stage_after(new, ref.version, ref.hash, ref.stage)))
        orphans = [(email, ref) for email, ref, stage in plan if stage is None]
        for email, ref in orphans:
            typer.echo(f"refused: {target.file}: migrations: lead {email} is in {ref.stage!r} of "
                       f"{from_version}, which {to_version} drops without a mapping", err=True)
        if orphans:
            raise typer.Exit(1)
        failed = 0
        for email, ref, stage in plan:
            if dry_run:
                typer.echo(f"would move {email}: {ref.stage!r} -> {stage!r}")
                continue
            try:
                view = await leads.migrate(email, PlaybookMigration(playbook=new, from_version=from_version,
                                                                    actor="cli"))
                typer.echo(f"moved {email}: {ref.stage!r} -> {view.stage!r}")
            except MigrationRefused as exc:
                failed += 1
                typer.echo(f"refused {email}: {exc}", err=True)
        verb = "would move" if dry_run else "moved"
        typer.echo(f"{verb} {len(plan) - failed} leads of {new.name} from {from_version} to "
                   f"{version_label(new)}")
        if failed:
            raise typer.Exit(1)

    with_client(run)


def _runs(ref: PlaybookRef, version: str) -> bool:
    return ref.version == version or (len(version) >= 6 and ref.hash.startswith(version))


def register(playbook_app: typer.Typer) -> None:
    playbook_app.command("simulate")(simulate)
    playbook_app.command("migrate")(migrate)

