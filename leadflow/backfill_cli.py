"""`leadflow backfill` and `leadflow schedules apply`: the shell side of what operators do in the UI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from config.settings import Settings, load_settings
from leadflow.cli_session import with_client
from workflows.backfill import BackfillWorkflow
from workflows.backfill_models import BackfillInput, BackfillResult

schedules_app = typer.Typer(help="Temporal Schedules leadflow runs (continuous reconcile).",
                            no_args_is_help=True)


@schedules_app.command("apply")
def schedules_apply() -> None:
    """Create or update the reconcile schedule (every LEADFLOW_RECONCILE_EVERY); idempotent."""
    from leadflow.schedules import apply_schedules, reconcile_interval, reconcile_schedule_id

    async def run(client: Client, settings: Settings) -> None:
        await apply_schedules(client, settings)
        typer.echo(f"schedule {reconcile_schedule_id(settings)}: ReconcileWorkflow every "
                   f"{reconcile_interval(settings)} on task queue {settings.task_queue}")

    with_client(run)


def backfill(
    source: Annotated[str, typer.Option(help="hubspot or salesforce")],
    modified_after: Annotated[str, typer.Option(help="e.g. 2026-01-01T00:00:00Z (UTC if no zone)")],
    modified_before: Annotated[str | None, typer.Option(help="default: when the backfill starts")] = None,
    dry_run: Annotated[bool, typer.Option(help="report what would change, write nothing")] = False,
    playbook: Annotated[str | None, typer.Option(help="default: LEADFLOW_PLAYBOOK")] = None,
    concurrency: Annotated[int, typer.Option(help="lead workflows started at a time")] = 16,
    wait: Annotated[bool, typer.Option(help="follow progress until it finishes")] = True,
) -> None:
    """Start a BackfillWorkflow (the same one the UI starts) and show its progress."""
    settings = load_settings()
    try:
        inp = BackfillInput.model_validate({
            "source": source, "modified_after": _utc(modified_after),
            "modified_before": _utc(modified_before) if modified_before else None,
            "dry_run": dry_run, "playbook_name": playbook or settings.playbook,
            "concurrency": concurrency})
    except ValueError as exc:
        typer.echo(f"invalid backfill: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def run(client: Client, settings: Settings) -> None:
        workflow_id = f"backfill-{source}-{uuid.uuid4().hex[:8]}"
        handle = await client.start_workflow(BackfillWorkflow.run, inp, id=workflow_id,
                                             task_queue=settings.task_queue)
        typer.echo(f"started {workflow_id} on {settings.task_queue} (see it in the Temporal UI)")
        if wait:
            await follow(handle)

    with_client(run)


async def follow(handle: WorkflowHandle) -> None:
    """A progress bar fed by the workflow's `progress` query until the result is in."""
    result_task = asyncio.ensure_future(handle.result())
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[line]}"), TimeElapsedColumn())
    with Progress(*columns) as bar:
        task = bar.add_task("backfill", total=None, line="starting")
        while not result_task.done():
            try:
                progress = await handle.query(BackfillWorkflow.progress)
                t = progress.tally
                bar.update(task, line=f"pages {t.pages}  seen {t.seen}  created {t.created}  "
                                      f"updated {t.updated}  failed {t.failed}")
            except Exception:  # noqa: BLE001, S110 - no worker yet: keep waiting for one
                pass
            await asyncio.wait([result_task], timeout=1.0)
        bar.update(task, total=1, completed=1)
    try:
        result: BackfillResult = BackfillResult.model_validate(result_task.result())
    except WorkflowFailureError as exc:
        typer.echo(f"backfill failed: {exc.cause}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{'dry run, nothing written: ' if result.dry_run else ''}{result.tally.line()}")
    for failure in result.tally.failures:
        typer.echo(f"  {failure}", err=True)


def _utc(text: str) -> datetime | str:
    """A time typed in a shell: UTC unless it names its zone; pydantic reports anything else."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
