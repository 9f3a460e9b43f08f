"""Inputs and outputs of BackfillWorkflow and ReconcileWorkflow, as an operator types them in the UI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Source = Literal["hubspot", "salesforce"]
SOURCES: tuple[Source, ...] = ("hubspot", "salesforce")


class Tally(BaseModel):
    """What a backfill or reconcile did (or, in a dry run, would do) so far."""

    pages: int = 0
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pending: int = 0  # leads that exist but had not yet shown their stage: sent the event anyway
    deleted: int = 0
    merged: int = 0
    failed: int = 0
    vendor_calls: int = 0  # upsert_leads calls to the other systems (each one or more batches)
    failures: list[str] = Field(default_factory=list)  # the last few, for the operator

    def add(self, other: Tally) -> Tally:
        summed = {k: getattr(self, k) + getattr(other, k)
                  for k in type(self).model_fields if k != "failures"}
        return Tally(**summed, failures=(self.failures + other.failures)[-MAX_FAILURES:])

    def line(self) -> str:
        return (f"pages={self.pages} seen={self.seen} created={self.created} "
                f"updated={self.updated} unchanged={self.unchanged} pending={self.pending} "
                f"deleted={self.deleted} "
                f"merged={self.merged} failed={self.failed}")


MAX_FAILURES = 20


class BackfillCursor(BaseModel):
    """Where paging stands: the time window being read and the vendor's cursor inside it."""

    window_start: datetime
    window_end: datetime
    after: str | None = None


class BackfillInput(BaseModel):
    """`{"source": "hubspot", "modified_after": "2026-01-01T00:00:00Z", "modified_before": null,
    "dry_run": false}`; leave the rest out unless you mean it."""

    model_config = ConfigDict(extra="forbid")  # a typo in the UI is an error, not a silent default

    source: Source
    modified_after: datetime
    modified_before: datetime | None = None  # null: up to the moment the backfill starts
    dry_run: bool = False
    playbook_name: str = "demo_led"
    page_size: int = Field(200, ge=1, le=200)
    concurrency: int = Field(16, ge=1, le=64)
    pages_per_run: int = Field(50, ge=1, le=1000)  # continue-as-new after this many pages
    # Set by continue-as-new; operators leave them out.
    cursor: BackfillCursor | None = None
    tally: Tally = Field(default_factory=Tally)

    @field_validator("modified_after", "modified_before")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-01-01T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> BackfillInput:
        if self.modified_before is not None and self.modified_before <= self.modified_after:
            raise ValueError("modified_before must be later than modified_after")
        return self


class PagesInput(BaseModel):
    """One activity's share of a backfill: up to `max_pages` pages from `cursor`."""

    source: Source
    playbook_name: str
    modified_before: datetime
    cursor: BackfillCursor
    page_size: int = 200
    concurrency: int = 16
    max_pages: int = 10
    dry_run: bool = False
    actor: str = "backfill"
    required: bool = True  # False: a source this worker has no connector for reads as empty


class PagesResult(BaseModel):
    cursor: BackfillCursor | None  # None: the whole range is read
    tally: Tally


class BackfillResult(BaseModel):
    source: Source
    dry_run: bool
    tally: Tally


class ReconcileInput(BaseModel):
    """What the schedule starts: `{"window_seconds": 300}` reconciles the 5 minutes before the
    run's scheduled time. `window_end` pins the window for a run started by hand."""

    model_config = ConfigDict(extra="forbid")

    window_seconds: int = Field(300, ge=1, le=7 * 24 * 3600)
    playbook_name: str = "demo_led"
    systems: list[Source] = Field(default_factory=lambda: list(SOURCES))
    window_end: datetime | None = None

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)


class ReconcileResult(BaseModel):
    window_start: datetime
    window_end: datetime
    drift_found: int
    drift_repaired: int
    by_system: dict[str, Tally]


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


BACKFILL_PAGES = "backfill_pages"  # the activity's name on the wire
