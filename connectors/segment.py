"""Segment connector: lead state goes out as `identify` traits plus a `Lead Stage Changed` track.

Segment is write-only for leadflow. analytics-python queues messages in memory and uploads
them from a background thread, so upsert_leads() flushes before returning and maps every
upload failure the library reports (via on_error) back to the lead whose message it was;
nothing the library drops or gives up on is reported as success.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from segment.analytics import Client
from segment.analytics.request import APIError

from config.settings import Settings
from connectors.base import (
    ChangedPage,
    LeadSnapshot,
    Owner,
    OwnerTask,
    SyncResult,
    VendorError,
)

log = logging.getLogger(__name__)

STAGE_CHANGED = "Lead Stage Changed"
AUTH_STATUSES = (401, 403)
# Statuses the library itself treats as transient (see segment.analytics.consumer).
TRANSIENT_STATUSES = (408, 410, 429, 460)


class _RedactKey(logging.Filter):
    """analytics-python debug-logs each request body, which carries the write key."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.secret and self.secret in text:
            record.msg, record.args = text.replace(self.secret, "***"), ()
        return True


def message_id(*parts: object) -> str:
    """Deterministic messageId so a retried activity is deduplicated by Segment, not re-counted."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"lf-{digest[:40]}"


class SegmentConnector:
    name = "segment"

    def __init__(
        self,
        write_key: str,
        host: str,
        stage_fields: Mapping[str, Mapping[str, str]],
        *,
        upload_interval: float = 0.1,
        max_retries: int = 3,
        max_wait_s: float = 20.0,
        timeout: float = 5.0,
        max_queue_size: int = 10_000,
    ) -> None:
        if not write_key:
            raise VendorError("segment", "config", "no write key configured", retryable=False)
        self.stage_fields = {k: dict(v) for k, v in stage_fields.items()}
        self._failed: dict[str, BaseException] = {}
        self._lock = threading.Lock()
        self._redact = _RedactKey(write_key)
        logging.getLogger("segment").addFilter(self._redact)
        # Retry and rate-limit budgets are kept small so one upsert never blocks much
        # longer than ~30 s; what is left over is the activity's retry policy's job.
        self.client = Client(
            write_key,
            host=host,
            on_error=self._on_error,
            gzip=True,
            max_retries=max_retries,
            max_total_backoff_duration=max_wait_s,
            max_rate_limit_duration=max_wait_s,
            timeout=timeout,
            upload_interval=upload_interval,
            max_queue_size=max_queue_size,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, stage_fields: Mapping[str, Mapping[str, str]]
    ) -> SegmentConnector:
        key = settings.segment_write_key.get_secret_value() if settings.segment_write_key else ""
        return cls(key, settings.segment_host, stage_fields)

    def close(self) -> None:
        """Deliver what is queued and stop the upload thread."""
        self.client.shutdown()
        logging.getLogger("segment").removeFilter(self._redact)

    # -- the upload path -------------------------------------------------------------

    def _on_error(self, exc: BaseException, batch: list[dict[str, Any]]) -> None:
        # Runs on the library's consumer thread, before the batch is marked done, so
        # every failure is recorded by the time flush() returns.
        with self._lock:
            for msg in batch:
                self._failed[str(msg.get("messageId"))] = exc

    def upsert_leads(self, leads: list[LeadSnapshot]) -> list[SyncResult]:
        pending: list[tuple[LeadSnapshot, list[str], SyncResult | None]] = []
        for lead in leads:
            ids, refused = self._enqueue_lead(lead)
            pending.append((lead, ids, refused))
        self.client.flush()
        return [self._outcome(lead, ids, refused) for lead, ids, refused in pending]

    def track(self, email: str, event: str, properties: dict[str, str], event_id: str) -> SyncResult:
        """One analytics event about a lead (an SLA breach, a follow-up due), flushed before returning."""
        lead = LeadSnapshot(email=email, stage="")  # names the lead in the result
        user_id = email.strip().lower()
        msg = {"user_id": user_id, "event": event, "properties": properties,
               "message_id": message_id("track", user_id, event, event_id)}
        ids, refused = self._enqueue(lead, [("track", msg)])
        self.client.flush()
        return self._outcome(lead, ids, refused)

    def _enqueue_lead(self, lead: LeadSnapshot) -> tuple[list[str], SyncResult | None]:
        return self._enqueue(lead, self._messages(lead))

    def _enqueue(
        self, lead: LeadSnapshot, messages: list[tuple[str, dict[str, Any]]]
    ) -> tuple[list[str], SyncResult | None]:
        """Queue the lead's messages; a result only if the library refused one up front."""
        ids: list[str] = []
        for kind, msg in messages:
            with self._lock:
                self._failed.pop(msg["message_id"], None)
            try:
                queued, _ = getattr(self.client, kind)(**msg)
            except RuntimeError:  # the library's own 32 KB check
                return ids, _too_large(lead, msg)
            except AssertionError as exc:  # the library's argument checks
                return ids, _failure(lead, "invalid_message", f"{kind}: {exc}", retryable=False)
            if not queued:
                return ids, _failure(
                    lead, "queue_full", f"{kind} dropped: client queue full", retryable=True
                )
            ids.append(msg["message_id"])
        return ids, None

    def _messages(self, lead: LeadSnapshot) -> list[tuple[str, dict[str, Any]]]:
        user_id = lead.email.strip().lower()
        traits = self._traits(lead)
        # The traits are part of the identify id: a retry with the same content is
        # deduplicated, but a changed score in the same stage still gets through.
        digest = json.dumps(traits, sort_keys=True, default=str)
        identify = {
            "user_id": user_id,
            "traits": traits,
            "message_id": message_id("identify", user_id, lead.stage, digest),
        }
        out = [("identify", identify)]
        if lead.previous_stage != lead.stage:
            track = {
                "user_id": user_id,
                "event": STAGE_CHANGED,
                "properties": {"from": lead.previous_stage, "to": lead.stage, "cause": lead.cause},
                "message_id": message_id(
                    "track", user_id, lead.previous_stage, lead.stage, lead.cause
                ),
            }
            out.append(("track", track))
        return out

    def _traits(self, lead: LeadSnapshot) -> dict[str, Any]:
        follow_up = lead.follow_up_date.isoformat() if lead.follow_up_date else None
        return {
            **lead.properties,
            **self.stage_fields.get(lead.stage, {}),
            "email": lead.email,
            "lead_stage": lead.stage,
            "lead_score": lead.score,
            "lead_disqualification_reason": lead.disqualification_reason,
            "lead_loss_reason": lead.loss_reason,
            "lead_follow_up_date": follow_up,
            "owner_id": lead.owner_id,
            # Issue 19; None (no grades:/icp: in the playbook) is left out of the traits.
            **{k: v for k, v in (("fit_grade", lead.fit_grade), ("icp", lead.icp)) if v is not None},
        }

    def _outcome(
        self, lead: LeadSnapshot, ids: list[str], refused: SyncResult | None
    ) -> SyncResult:
        with self._lock:
            errors = [e for mid in ids if (e := self._failed.pop(mid, None)) is not None]
        if refused is not None:
            return refused
        if not errors:
            return SyncResult(email=lead.email, ok=True, record_id=lead.email.strip().lower())
        return _from_upload_error(lead, errors[0])

    # -- the parts of the protocol Segment has no counterpart for -----------------------

    def changed_since(
        self, since: datetime, until: datetime | None, cursor: str | None
    ) -> ChangedPage:
        return ChangedPage(records=[])

    def owners(self) -> list[Owner]:
        return []

    def create_task(self, task: OwnerTask) -> str:
        raise VendorError("segment", "unsupported", "segment has no tasks", retryable=False)

    def provision(self) -> list[str]:
        return []


def _failure(lead: LeadSnapshot, code: str, detail: str, *, retryable: bool) -> SyncResult:
    return SyncResult(
        email=lead.email,
        ok=False,
        vendor_code=code,
        message=f"segment {code} for lead {lead.email}: {detail}",
        retryable=retryable,
    )


def _too_large(lead: LeadSnapshot, msg: dict[str, Any]) -> SyncResult:
    fields = msg.get("traits") or msg.get("properties") or {}
    biggest = max(fields, key=lambda k: len(json.dumps(fields[k], default=str)), default="?")
    return _failure(
        lead,
        "message_too_large",
        f"event exceeds Segment's 32 KB limit; largest field is '{biggest}'",
        retryable=False,
    )


def _from_upload_error(lead: LeadSnapshot, exc: BaseException) -> SyncResult:
    if not isinstance(exc, APIError):
        # Network errors, retries given up, batches dropped after the rate-limit budget.
        return _failure(lead, "upload_failed", str(exc), retryable=True)
    status = int(exc.status) if str(exc.status).isdigit() else 0
    if status in AUTH_STATUSES:
        detail = f"auth rejected ({status} {exc.code}); check the write key (field writeKey)"
        return _failure(lead, str(status), detail, retryable=False)
    retryable = status in TRANSIENT_STATUSES or status >= 500
    return _failure(lead, f"{status} {exc.code}", str(exc.message), retryable=retryable)
