"""HubSpot connector on hubspot-api-client (CRM v3).

Writes go through batch upsert by email (100 per request); reads use CRM search on
`lastmodifieddate`. Every call passes through `_Transport`, which paces requests from
HubSpot's X-HubSpot-RateLimit-* headers and retries 429/423/5xx in-process within a bounded
wait; a whole-request failure that outlasts it becomes VendorError(retryable=True).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import urllib3
from hubspot import HubSpot
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputUpsert as UpsertBatch
from hubspot.crm.contacts import (
    BatchReadInputSimplePublicObjectId,
    PublicGdprDeleteInput,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)
from hubspot.crm.contacts import SimplePublicObjectBatchInputUpsert as UpsertInput
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.tasks import BatchReadInputSimplePublicObjectId as TaskBatchRead
from hubspot.crm.objects.tasks import SimplePublicObjectId as TaskId
from hubspot.crm.objects.tasks.exceptions import ApiException as TasksApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from connectors.base import (
    AccountSnapshot,
    ChangedPage,
    ChangedRecord,
    Finding,
    LeadSnapshot,
    Owner,
    OwnerTask,
    SyncResult,
    VendorError,
)
from connectors.hubspot_accounts import COMPANY_PROPERTIES, HubSpotAccounts

log = logging.getLogger(__name__)

VENDOR = "hubspot"
BATCH_SIZE = 100
PAGE_SIZE = 200
SEARCH_CAP = 10_000
MAX_IN_FLIGHT = 4  # requests one process has on the wire at once
TASK_TO_CONTACT = 204  # HubSpot-defined association type id: task -> contact
GROUP = {"name": "leadflow", "label": "leadflow"}
# On tasks: leadflow's key for an owner task, checked before creating one (creates are not
# idempotent, so a retry after a lost answer would otherwise make a second task).
TASK_KEY = {"name": "leadflow_task_key", "label": "leadflow task key", "type": "string",
            "field_type": "text"}
CUSTOM_PROPERTIES = [
    {"name": "lead_stage", "label": "Lead stage", "type": "string", "field_type": "text"},
    {"name": "lead_score", "label": "Lead score", "type": "number", "field_type": "number"},
    {"name": "lead_disqualification_reason", "label": "Lead disqualification reason",
     "type": "string", "field_type": "text"},
    {"name": "lead_loss_reason", "label": "Lead loss reason", "type": "string", "field_type": "text"},
    {"name": "lead_follow_up_date", "label": "Lead follow-up date", "type": "date",
     "field_type": "date"},
    # Issue 19: written only for playbooks with grades: / icp:.
    {"name": "lead_fit_grade", "label": "Lead fit grade", "type": "string", "field_type": "text"},
    {"name": "lead_icp", "label": "Lead ICP status", "type": "string", "field_type": "text"},
    # The stock playbooks' `fields:` (HubSpot: custom properties must exist before a write names
    # them; knowledge.hubspot.com "Create and edit properties"). A playbook naming other custom
    # properties needs them created too (`leadflow doctor` names the missing ones).
    {"name": "lead_company_size", "label": "Lead company size", "type": "number",
     "field_type": "number"},
    *({"name": name, "label": label, "type": "string", "field_type": "text"} for name, label in (
        ("lead_role", "Lead role"), ("lead_use_case", "Lead use case"),
        ("lead_timeline", "Lead timeline"), ("lead_stakeholders", "Lead stakeholders"),
        ("lead_budget", "Lead budget"), ("lead_nurture_path", "Lead nurture path"),
        ("lead_snooze_reason", "Lead snooze reason"))),
]
READ_PROPERTIES = ["email", "lifecyclestage", "hs_lead_status", "hubspot_owner_id",
                   "lastmodifieddate", "lead_stage", "lead_score",
                   "lead_disqualification_reason", "lead_loss_reason", "lead_follow_up_date"]
API_ERRORS = (ContactsApiException, TasksApiException, OwnersApiException, PropertiesApiException,
              CompaniesApiException)
# Codes whose detail names the property alone, so every record writing it is at fault.
BY_NAME = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}
# Codes whose message quotes the offending value, so only records writing that value are.
VALUE_PATTERNS = {"INVALID_OPTION": re.compile(r"^(.*?) was not one of the allowed options"),
                  "INVALID_EMAIL": re.compile(r"^Email address (.*?) is invalid")}


# ---- transport: pacing + bounded retries -------------------------------------------------
# CRM search has its own limit, "four requests per second and per authentication token"
# (developers.hubspot.com/changelog/crm-search-api-rate-limit-increase), and is exempt from the
# ten-second one. Every connector in a process using the same token shares one search pacer;
# other processes on the same token (worker and ingest) are met by the 429s it still draws.
SEARCH_PER_SECOND = 4


class _SearchPacer:
    def __init__(self, per_second: int = SEARCH_PER_SECOND) -> None:
        # 10% slack: requests sent evenly can still arrive bunched after network jitter.
        self.spacing = 1.1 / per_second
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait_turn(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        with self.lock:
            delay = self.next_at - clock()
            if delay > 0:
                sleep(delay)
            self.next_at = max(clock(), self.next_at) + self.spacing

    def back_off(self, clock: Callable[[], float], seconds: float) -> None:
        """Another process spent this token's second: nobody here searches for `seconds`."""
        with self.lock:
            self.next_at = max(self.next_at, clock() + seconds)


_SEARCH_PACERS: dict[str, _SearchPacer] = {}
_SEARCH_PACERS_LOCK = threading.Lock()


def search_pacer(access_token: str) -> _SearchPacer:
    key = hashlib.sha256(access_token.encode()).hexdigest()
    with _SEARCH_PACERS_LOCK:
        return _SEARCH_PACERS.setdefault(key, _SearchPacer())


class Ticket(NamedTuple):
    """A request as the pacer let it go: when, its number, this process's others in flight."""
    at: float
    seq: int
    in_flight: int


class _Pacer:
    """Keeps every process sharing a token under HubSpot's rolling limit together.

    `X-HubSpot-RateLimit-Remaining` is app-wide: every client of the private app spends it.
    The pacer starts from the newest value read and subtracts what this process sent that the
    value may not include, counted twice because a peer sharing the token is assumed to spend
    as fast. A value is dated by when its request was sent, not when its answer was read: HubSpot
    counted it somewhere between the two, and a slow answer (a busy process, a slow network)
    must not make an old count look fresh. So "may not include" is every request in flight when
    that request was sent, and every one sent since. The value is trusted for one interval; a
    429 zeroes it. At the reserve it waits, re-reading what answers in flight report meanwhile.
    One pacer per token in a process (`pacer_for`), whatever the playbook.
    """

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None],
                 search: _SearchPacer) -> None:
        self.clock, self.sleep = clock, sleep
        self.limit: int | None = None
        self.interval = 10.0
        self.remaining: int | None = None
        self.read_at = 0.0  # when the request that brought `remaining` was sent
        self.read_seq = -1  # and its number
        self.unseen = 0  # this process's requests in flight then
        self.in_flight = 0
        self.seq = 0  # requests numbered as they go: clocks can stand still between two
        self.sent: deque[Ticket] = deque()  # the ten-second window's requests of the last interval
        self.search = search
        self.lock = threading.Lock()  # the pacer's numbers
        self.turn = threading.Lock()  # threads sharing a token queue here for their turn

    def _reserve(self) -> int:
        return max(1, (self.limit or 0) // 10)  # headroom for other clients of the same app

    def _left(self, now: float) -> float | None:
        """Requests the whole app may still send now, as far as this process can tell."""
        if self.remaining is None or now >= self.read_at + self.interval:
            return None
        mine = self.unseen + sum(1 for t in self.sent if t.seq > self.read_seq)
        return float(self.remaining - 2 * mine)

    def budget_left(self) -> float | None:
        with self.lock:
            now = self.clock()
            if not self.limit:
                return None
            left = self._left(now)
            if left is None:
                left = self.limit - sum(1 for t in self.sent if t.at > now - self.interval)
            return max(0.0, left / self.limit)

    def wait_turn(self, search: bool) -> Ticket:
        """Wait until a request may go; returns its ticket for `answered`."""
        if search:  # outside the ten-second window: only the token's search pacer applies
            self.search.wait_turn(self.clock, self.sleep)
            with self.lock:
                return self._send()
        with self.turn:
            while True:
                with self.lock:
                    delay = self._delay()
                    if delay <= 0:
                        ticket = self._send()
                        self.sent.append(ticket)
                        return ticket
                self.sleep(min(delay, 0.05))  # then look again: answers may have come back

    def _send(self) -> Ticket:
        ticket = Ticket(self.clock(), self.seq, self.in_flight)
        self.seq += 1
        self.in_flight += 1  # answered() counts every request back
        return ticket

    def _delay(self) -> float:
        now = self.clock()
        while self.sent and self.sent[0].at <= now - self.interval:
            self.sent.popleft()
        delay = 0.0
        left = self._left(now)
        if self.in_flight >= (1 if left is None else MAX_IN_FLIGHT):
            # Without fresh word on the budget, one request goes until its answer brings it;
            # otherwise a few at a time, so what this process has unseen stays small.
            delay = 0.05
        elif left is not None and left <= self._reserve():
            # Others spend the same budget: wait for a fresher header, or for the window to
            # roll past everything counted in the last one.
            delay = self.read_at + self.interval - now
        if self.limit:
            budget = max(1, self.limit - self._reserve())
            if len(self.sent) >= budget:
                delay = max(delay, self.sent[len(self.sent) - budget].at + self.interval - now)
        return delay

    def answered(self, ticket: Ticket, headers: Mapping[str, str] | None) -> None:
        """The request of `ticket` came back (headers None: it never reached HubSpot)."""
        h = {k.lower(): v for k, v in (headers or {}).items()}
        with self.lock:
            self.in_flight = max(0, self.in_flight - 1)
            self._learn(ticket, h)

    def exhausted(self) -> None:
        """A 429 (TEN_SECONDLY_ROLLING): nothing is left until the window rolls on."""
        with self.lock:
            self.remaining, self.read_at, self.unseen = 0, self.clock(), self.in_flight
            self.read_seq = self.seq - 1

    def _learn(self, ticket: Ticket, h: dict[str, str]) -> None:
        if "x-hubspot-ratelimit-max" in h:
            self.limit = int(h["x-hubspot-ratelimit-max"])
        if "x-hubspot-ratelimit-interval-milliseconds" in h:
            self.interval = int(h["x-hubspot-ratelimit-interval-milliseconds"]) / 1000
        # Answers overtake each other: only a request sent after the one behind the value held
        # brings a newer count.
        if "x-hubspot-ratelimit-remaining" in h and ticket.seq > self.read_seq:
            self.remaining = int(h["x-hubspot-ratelimit-remaining"])
            self.read_at, self.read_seq, self.unseen = ticket.at, ticket.seq, ticket.in_flight


_PACERS: dict[tuple[str, str], _Pacer] = {}
_PACERS_LOCK = threading.Lock()


def pacer_for(base_url: str, access_token: str) -> _Pacer:
    """The one pacer of this process for a token (keyed by its digest, never the token)."""
    key = (base_url, hashlib.sha256(access_token.encode()).hexdigest())
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = _Pacer(time.monotonic, time.sleep, search_pacer(access_token))
        return _PACERS[key]


def _error_body(exc: Any) -> dict:
    try:
        body = json.loads(exc.body or "{}")
        return body if isinstance(body, dict) else {}
    except (TypeError, ValueError):
        return {}


class _Transport:
    def __init__(self, max_wait_s: float, max_attempts: int, pacer: _Pacer,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_wait_s, self.max_attempts = max_wait_s, max_attempts
        self.pacer = pacer
        self.sleep = sleep

    def call(self, what: str, fn: Callable[..., Any], *args: Any, search: bool = False,
             attempts: int | None = None, **kwargs: Any) -> Any:
        """Run a *_with_http_info client method; returns its data. 4xx other than auth,
        429 and 423 are re-raised as the client's ApiException for the caller to map."""
        waited, code, attempts = 0.0, "UNKNOWN", attempts or self.max_attempts
        for attempt in range(attempts):
            ticket = self.pacer.wait_turn(search)
            try:
                data, _status, headers = fn(*args, _request_timeout=(5, 60), **kwargs)
            except API_ERRORS as exc:
                self.pacer.answered(ticket, exc.headers)
                code, delay = self._classify(what, exc, attempt)
            except urllib3.exceptions.HTTPError as exc:
                self.pacer.answered(ticket, None)
                code, delay = "CONNECTION", _backoff(attempt)
                log.warning("hubspot %s: connection problem (%s)", what, type(exc).__name__)
            except BaseException:
                self.pacer.answered(ticket, None)
                raise
            else:
                self.pacer.answered(ticket, headers)
                return data
            if waited + delay > self.max_wait_s or attempt + 1 == attempts:
                break
            log.warning("hubspot %s: %s, retrying in %.1fs", what, code, delay)
            self.sleep(delay)
            waited += delay
        raise VendorError(VENDOR, code, f"{what} still failing after {waited:.1f}s of retries",
                          retryable=True)

    def _classify(self, what: str, exc: Any, attempt: int) -> tuple[str, float]:
        body, status = _error_body(exc), exc.status or 0
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        retry_after = float(headers["retry-after"]) if "retry-after" in headers else None
        if status in (401, 403):
            scopes = [sc for e in body.get("errors") or [] if isinstance(e, dict)
                      for sc in (e.get("context") or {}).get("requiredGranularScopes", [])]
            needs = f" (needs scope {', '.join(scopes)})" if scopes else ""
            raise VendorError(VENDOR, body.get("category", f"HTTP_{status}"),
                              f"{what}: {body.get('message', 'not authorised')}{needs}",
                              retryable=False) from None
        if status == 429:
            policy = body.get("policyName", "TEN_SECONDLY_ROLLING")
            if policy == "DAILY":  # nothing left today: retrying in-process is pointless
                raise VendorError(VENDOR, "RATE_LIMIT_DAILY", f"{what}: daily API limit reached",
                                  retryable=True) from None
            if policy == "SECONDLY":  # search's per-token second, spent by another process
                delay = retry_after or _backoff(attempt) / 2
                self.pacer.search.back_off(self.pacer.clock, delay)
                return "RATE_LIMIT_SECONDLY", delay
            self.pacer.exhausted()  # every thread of this process holds back, not only this one
            return f"RATE_LIMIT_{policy}", retry_after or self.pacer.interval
        if status == 423:
            return "LOCKED", retry_after or 2.0
        if status == 0 or status >= 500:
            return f"HTTP_{status}", retry_after or _backoff(attempt)
        raise exc


def _backoff(attempt: int) -> float:
    return min(8.0, 0.5 * 2**attempt) * (0.8 + 0.4 * random.random())  # noqa: S311


# ---- one lead, as HubSpot properties -------------------------------------------------------
@dataclass
class _Row:
    email: str
    props: dict[str, str]
    backward: bool


def _traced(rows: list[_Row], trace: str | None) -> _Row | None:
    return rows[int(trace)] if trace and trace.isdigit() and int(trace) < len(rows) else None


def _failure(email: str, code: str, message: str, retryable: bool = False) -> SyncResult:
    return SyncResult(email=email, ok=False, vendor_code=code, message=message,
                      retryable=retryable)


def _property_details(body: dict) -> list[dict]:
    """HubSpot puts per-property errors as JSON inside the message of a VALIDATION_ERROR."""
    message = body.get("message", "")
    head = "Property values were not valid: "
    if not message.startswith(head):
        return []
    try:
        details = json.loads(message[len(head):])
    except ValueError:
        return []
    return [d for d in details if isinstance(d, dict) and d.get("name")]


def _rejected(row: _Row, details: list[dict], category: str, message: str) -> SyncResult:
    """A record HubSpot refused, named by the property and code that made it fail."""
    mine = [d for d in details if _implicates(d, row)] or details
    if not mine:
        return _failure(row.email, category, f"{row.email}: {message}")
    return _failure(row.email, mine[0].get("error", category),
                    "; ".join(f"{row.email}: property {d['name']} rejected with "
                              f"{d.get('error')}: {d.get('message')}" for d in mine))


def _implicates(detail: dict, row: _Row) -> bool:
    name, code = detail["name"], detail.get("error", "")
    if name not in row.props:
        return False
    if code in BY_NAME:
        return True
    pattern = VALUE_PATTERNS.get(code)
    found = pattern.match(detail.get("message", "")) if pattern else None
    return found is not None and found.group(1) == row.props[name]


class HubSpotConnector:
    name = VENDOR
    # The playbook's `fields:` read from HubSpot (lifecycle.field_sync.read_names), set by the
    # worker: backfill and reconcile read them with the stage.
    read_fields: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        stage_fields: Mapping[str, Mapping[str, str]],
        max_wait_s: float = 25.0,
        max_attempts: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stage_fields = {k: dict(v) for k, v in stage_fields.items()}
        # Only connection setup is retried by urllib3; everything else is retried here,
        # where the retry can honour HubSpot's limits (urllib3 never retries POST anyway).
        retry = Retry(total=2, connect=2, read=0, status=0, redirect=0, other=0)
        client = HubSpot(access_token=access_token, host=self.base_url, retry=retry)
        # Each discovery attribute builds a new ApiClient (and pool): build them once.
        self._contacts = client.crm.contacts
        self._batch = self._contacts.batch_api
        self._basic = self._contacts.basic_api
        self._search = self._contacts.search_api
        self._props = client.crm.properties.core_api
        self._groups = client.crm.properties.groups_api
        self._owners = client.crm.owners.owners_api
        self._tasks = client.crm.objects.tasks.basic_api
        self._task_batch = client.crm.objects.tasks.batch_api
        self._io = _Transport(max_wait_s, max_attempts, pacer_for(self.base_url, access_token))
        self._lifecycle_order: list[str] | None = None
        self._accounts = HubSpotAccounts(self._io, client.crm.companies, self._basic, self._batch,
                                         client.crm.associations.v4.batch_api)

    def __repr__(self) -> str:  # never show the token
        return f"HubSpotConnector(base_url={self.base_url!r})"

    def budget_left(self) -> float | None:
        """Share of the app's ten-second budget still free (None until HubSpot has said)."""
        return self._io.pacer.budget_left()

    @classmethod
    def from_settings(cls, settings: Any,
                      stage_fields: Mapping[str, Mapping[str, str]]) -> HubSpotConnector:
        token = settings.hubspot_access_token
        if token is None or not token.get_secret_value():
            raise VendorError(VENDOR, "NO_CREDENTIALS", "HUBSPOT_ACCESS_TOKEN is not set",
                              retryable=False)
        return cls(access_token=token.get_secret_value(), base_url=settings.hubspot_base_url,
                   stage_fields=stage_fields)

    # ---- upsert ------------------------------------------------------------------------
    def upsert_leads(self, leads: list[LeadSnapshot]) -> list[SyncResult]:
        rows: dict[str, _Row] = {}
        for lead in leads:  # the same email twice in one call: the later snapshot wins
            row = self._row(lead)
            rows[row.email] = row
        ordered = list(rows.values())
        backward = [r for r in ordered if r.backward]
        if backward:
            self._clear_lifecycle(backward)
        results, stored = self._upsert(ordered)
        # Someone may have moved a record further than leadflow knew: HubSpot then kept the
        # later stage without saying so. Clear and write those once more.
        ignored = [r for r in ordered if results[r.email].ok and r.props.get("lifecyclestage")
                   and stored.get(r.email, r.props["lifecyclestage"])
                   != r.props["lifecyclestage"]]
        if ignored:
            self._clear_lifecycle(ignored)
            again, stored = self._upsert(ignored)
            for row in ignored:
                results[row.email] = again[row.email]
                if again[row.email].ok and stored.get(row.email) != row.props["lifecyclestage"]:
                    results[row.email] = _failure(
                        row.email, "LIFECYCLE_NOT_APPLIED",
                        f"{row.email}: HubSpot kept lifecyclestage={stored.get(row.email)!r} "
                        f"instead of {row.props['lifecyclestage']!r}", retryable=True)
        # Answer with the caller's own spelling of each email, in the caller's order.
        return [results[lead.email.strip().lower()].model_copy(update={"email": lead.email})
                for lead in leads]

    def _row(self, lead: LeadSnapshot) -> _Row:
        email = lead.email.strip().lower()
        stage = self.stage_fields.get(lead.stage, {})  # a stage may map to no HubSpot values
        props = {**lead.properties, **stage}
        # No `email` property: the upsert's id sets it on a new contact, and on a merged
        # contact found by an old address it would replace the survivor's primary email.
        props.pop("email", None)
        props.update(
            lead_stage=lead.stage,
            lead_score=str(lead.score),
            lead_follow_up_date=lead.follow_up_date.isoformat() if lead.follow_up_date else "",
        )
        if lead.fit_grade is not None:
            props["lead_fit_grade"] = lead.fit_grade
        if lead.icp is not None:
            props["lead_icp"] = lead.icp
        if not lead.keep_crm_reasons:
            # "" clears a stale value, e.g. the reason once a disqualified lead re-enters.
            props.update(lead_disqualification_reason=lead.disqualification_reason or "",
                         lead_loss_reason=lead.loss_reason or "")
        if lead.owner_id:
            props["hubspot_owner_id"] = lead.owner_id
        before = self.stage_fields.get(lead.previous_stage or "", {}).get("lifecyclestage")
        after = stage.get("lifecyclestage")
        backward = (bool(after) and bool(before) and after != before
                    and self._lifecycle_rank(after) < self._lifecycle_rank(before))
        return _Row(email, props, backward)

    def _lifecycle_rank(self, value: str | None) -> int:
        """The stage's place in this portal's lifecycle order (-1: none or unknown).

        Portals add and remove lifecycle stages, so the order is the `lifecyclestage`
        property's options by displayOrder, read once per connector (one per process and
        playbook), never HubSpot's eight defaults."""
        if value is None:
            return -1
        if self._lifecycle_order is None:
            prop = self._io.call("read property lifecyclestage",
                                 self._props.get_by_name_with_http_info, "contacts",
                                 "lifecyclestage")
            options = sorted(prop.options or [], key=lambda o: o.display_order)
            self._lifecycle_order = [o.value for o in options]
        return self._lifecycle_order.index(value) if value in self._lifecycle_order else -1

    def _clear_lifecycle(self, rows: list[_Row]) -> None:
        """HubSpot only moves lifecyclestage forward unless it is cleared by an earlier,
        separate request (it does not promise order inside one batch)."""
        cleared = [_Row(r.email, {"lifecyclestage": ""}, False) for r in rows]
        self._upsert(cleared)  # failures here surface on the write that follows

    def _upsert(self, rows: list[_Row]) -> tuple[dict[str, SyncResult], dict[str, str | None]]:
        results: dict[str, SyncResult] = {}
        stored: dict[str, str | None] = {}
        for start in range(0, len(rows), BATCH_SIZE):
            self._upsert_batch(rows[start:start + BATCH_SIZE], results, stored)
        return results, stored

    def _upsert_batch(self, rows: list[_Row], results: dict[str, SyncResult],
                      stored: dict[str, str | None]) -> None:
        """Each input carries its position as objectWriteTraceId: HubSpot then answers per
        record (207 with `errors` for the invalid ones) and echoes the trace id on results.
        Results are matched by it, never by the returned email, which after a merge can be
        the surviving contact's own address rather than the one sent."""
        batch = UpsertBatch(inputs=[UpsertInput(id=r.email, id_property="email",
                                                object_write_trace_id=str(n), properties=r.props)
                                    for n, r in enumerate(rows)])
        try:
            data = self._io.call("batch upsert", self._batch.upsert_with_http_info, batch)
        except API_ERRORS as exc:
            self._isolate_failures(rows, exc, results, stored)
            return
        for item in data.results:
            row = _traced(rows, item.object_write_trace_id)
            if row is not None:
                results[row.email] = SyncResult(email=row.email, ok=True, record_id=item.id)
                stored[row.email] = item.properties.get("lifecyclestage")
        batch_errors = getattr(data, "errors", None) or []
        for error in batch_errors:
            details = _property_details({"message": error.message or ""})
            for trace in (error.context or {}).get("objectWriteTraceId", []):
                row = _traced(rows, trace)
                if row is not None:
                    results[row.email] = _rejected(row, details, error.category or "BATCH_ERROR",
                                                   error.message or "")
        for row in rows:
            if row.email not in results:
                results[row.email] = _failure(row.email, "BATCH_ERROR",
                                              f"{row.email}: no result returned", retryable=True)

    def _isolate_failures(self, rows: list[_Row], exc: Any, results: dict[str, SyncResult],
                          stored: dict[str, str | None]) -> None:
        """A batch HubSpot refused as a whole: fail the records at fault, land the rest."""
        body = _error_body(exc)
        category = body.get("category", f"HTTP_{exc.status}")
        details = _property_details(body)
        if exc.status != 400 or (len(rows) == 1 and not details):
            for row in rows:
                results[row.email] = _failure(row.email, category,
                                              f"{row.email}: {body.get('message', exc.reason)}")
            return
        guilty = [r for r in rows if any(_implicates(d, r) for d in details)]
        if not guilty and len(rows) > 1:  # the error does not say who: halve and retry
            half = len(rows) // 2
            self._upsert_batch(rows[:half], results, stored)
            self._upsert_batch(rows[half:], results, stored)
            return
        for row in guilty or rows:
            results[row.email] = _rejected(row, details, category, body.get("message", ""))
        rest = [r for r in rows if r not in guilty] if guilty else []
        if rest:
            self._upsert_batch(rest, results, stored)

    # ---- reads -------------------------------------------------------------------------
    def _window(self, since: datetime, until: datetime | None, limit: int,
                after: str | None) -> Any:
        filters = [{"propertyName": "lastmodifieddate", "operator": "GTE",
                    "value": str(_ms(since))}]
        if until is not None:  # half-open windows, so splitting never double counts
            filters.append({"propertyName": "lastmodifieddate", "operator": "LT",
                            "value": str(_ms(until))})
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": filters}], limit=limit, after=after,
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=self._read_properties())
        return self._io.call("contact search", self._search.do_search_with_http_info, request,
                             search=True)

    def count_changed(self, since: datetime, until: datetime | None = None) -> int:
        """How many contacts changed in [since, until): callers split windows over 10,000."""
        return int(self._window(since, until, 1, None).total)

    def changed_since(self, since: datetime, until: datetime | None,
                      cursor: str | None) -> ChangedPage:
        page = self._window(since, until, PAGE_SIZE, cursor)
        if cursor is None and page.total > SEARCH_CAP:
            raise VendorError(VENDOR, "SEARCH_WINDOW_TOO_LARGE",
                              f"{page.total} contacts changed in [{since}, {until}); HubSpot "
                              f"search stops at {SEARCH_CAP}: split the window",
                              retryable=False)
        records = [_changed(item, self._read_properties()) for item in page.results]
        nxt = page.paging.next.after if page.paging and page.paging.next else None
        return ChangedPage(records=records, next_cursor=nxt)

    def _read_properties(self) -> list[str]:
        return READ_PROPERTIES + [p for p in self.read_fields if p not in READ_PROPERTIES]

    def owners(self) -> list[Owner]:
        out: list[Owner] = []
        for archived in (False, True):
            after = None
            while True:
                page = self._io.call("owners", self._owners.get_page_with_http_info,
                                     limit=100, after=after, archived=archived)
                out += [Owner(id=str(o.id), email=o.email or "",
                              name=f"{o.first_name or ''} {o.last_name or ''}".strip(),
                              active=not archived) for o in page.results]
                if not (page.paging and page.paging.next):
                    break
                after = page.paging.next.after
        return out

    def contact_emails(self, record_ids: list[str], archived: bool = False) -> dict[str, str | None]:
        """{id: email or None} for contacts by id, 100 per batch/read call (archived: deleted or
        merged-away ones). Webhooks name contacts by id only, and HubSpot waits 5 s for an
        answer: one call per delivery, not one per contact."""
        out: dict[str, str | None] = dict.fromkeys(record_ids)
        for start in range(0, len(record_ids), BATCH_SIZE):
            chunk = record_ids[start:start + BATCH_SIZE]
            request = BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=i) for i in chunk], properties=["email"],
                properties_with_history=[])
            try:
                data = self._io.call("read contacts", self._batch.read_with_http_info, request,
                                     archived=archived)
            except API_ERRORS as exc:
                raise VendorError(VENDOR, f"HTTP_{exc.status}", "reading contacts",
                                  retryable=False) from None
            for item in data.results:
                out[str(item.id)] = (item.properties or {}).get("email") or None
        return out

    def gdpr_delete(self, email: str) -> None:
        """Erases the contact for good (GDPR delete, by email); an email HubSpot does not know
        is blocklisted so it cannot be re-created. Answers 204 either way."""
        try:
            self._io.call("GDPR-delete contact", self._basic.purge_with_http_info,
                          PublicGdprDeleteInput(object_id=email.strip().lower(), id_property="email"))
        except API_ERRORS as exc:
            raise VendorError(VENDOR, f"HTTP_{exc.status}", "GDPR delete refused",
                              retryable=exc.status in (429, 500, 502, 503, 504)) from None

    # ---- accounts (connectors/hubspot_accounts.py) ------------------------------------------
    def upsert_accounts(self, accounts: list[AccountSnapshot]) -> list[SyncResult]:
        """Each account's company, found by domain and created when missing."""
        return self._accounts.upsert_accounts(accounts)

    def company_domain_of(self, email: str) -> str | None:
        """The domain of the company HubSpot associates with the contact of this email."""
        return self._accounts.company_domain_of(email, API_ERRORS)

    def company_domains_of(self, emails: list[str]) -> list[str | None]:
        """company_domain_of for many emails, 3 requests per 100 (the account joins' batcher)."""
        return self._accounts.company_domains_of(emails)

    # ---- tasks and schema ----------------------------------------------------------------
    def create_task(self, task: OwnerTask) -> str:
        """A HubSpot task on the contact. HubSpot's create is not idempotent, so a keyed task
        is first looked for among the contact's tasks (associations are read with the contact,
        not through search, which lags writes), and the create itself is tried once: a failed
        try fails the activity, whose retry looks again before creating."""
        email = task.email.strip().lower()
        try:
            contact = self._io.call("find contact", self._basic.get_by_id_with_http_info,
                                    email, id_property="email", properties=["email"],
                                    associations=["tasks"] if task.key else None)
        except API_ERRORS as exc:
            raise VendorError(VENDOR, "CONTACT_NOT_FOUND" if exc.status == 404 else
                              f"HTTP_{exc.status}", f"no HubSpot contact for {email}",
                              retryable=False) from None
        if task.key:
            found = self._task_with_key(contact, task.key)
            if found is not None:
                return found
        try:
            made = self._io.call("create task", self._tasks.create_with_http_info,
                                 _task_input(task.model_copy(update={"record_id": str(contact.id)})),
                                 attempts=1 if task.key else None)
        except API_ERRORS as exc:
            body = _error_body(exc)
            if task.key and TASK_KEY["name"] in str(body.get("message", "")):
                log.warning("hubspot: the task property %s is missing (run `leadflow setup "
                            "hubspot`); the task is created without its key, so a retry may "
                            "duplicate it", TASK_KEY["name"])
                return self.create_task(task.model_copy(update={"key": None}))
            raise VendorError(VENDOR, body.get("category", f"HTTP_{exc.status}"),
                              f"task for {email}: {body.get('message', exc.reason)}",
                              retryable=False) from None
        return str(made.id)

    def create_tasks(self, tasks: list[OwnerTask]) -> list[SyncResult]:
        """`POST /crm/v3/objects/tasks/batch/create`, 100 tasks a request, each associated to
        the contact id its task names and carrying its leadflow key. HubSpot refuses a batch as
        a whole: a refused batch goes task by task through create_task, so only the tasks at
        fault fail."""
        results: list[SyncResult] = []
        for start in range(0, len(tasks), BATCH_SIZE):
            results += self._create_task_batch(tasks[start:start + BATCH_SIZE])
        return results

    def _create_task_batch(self, tasks: list[OwnerTask]) -> list[SyncResult]:
        batch = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[_task_input(t, SimplePublicObjectBatchInputForCreate) for t in tasks])
        try:
            # Tried once, like a keyed single create: an answer lost after the write fails the
            # activities, whose retries look for their keys before creating.
            data = self._io.call("batch create tasks", self._task_batch.create_with_http_info,
                                 batch, attempts=1 if any(t.key for t in tasks) else None)
        except API_ERRORS:  # refused as a whole: each task the single, key-checking way
            return [self._one_task(t) for t in tasks]
        # HubSpot does not promise the order of batch results: match them by what was sent.
        waiting: dict[tuple[str, ...], list[int]] = {}
        for i, task in enumerate(batch.inputs):
            waiting.setdefault(_task_key(task.properties), []).append(i)
        ids: list[str | None] = [None] * len(tasks)
        for made in data.results:
            slots = waiting.get(_task_key(made.properties or {}))
            if slots:
                ids[slots.pop(0)] = str(made.id)
        return [SyncResult(email=t.email, ok=True, record_id=i) if i else
                _failure(t.email, "BATCH_ERROR", f"task for {t.email}: no result returned",
                         retryable=True) for t, i in zip(tasks, ids, strict=True)]

    def _one_task(self, task: OwnerTask) -> SyncResult:
        try:
            return SyncResult(email=task.email, ok=True, record_id=self.create_task(task))
        except VendorError as exc:
            return _failure(task.email, exc.code, str(exc), retryable=exc.retryable)

    def _task_with_key(self, contact: Any, key: str) -> str | None:
        linked = (contact.associations or {}).get("tasks")
        ids = [a.id for a in (linked.results if linked else [])]
        for start in range(0, len(ids), BATCH_SIZE):
            read = TaskBatchRead(
                inputs=[TaskId(id=i) for i in ids[start:start + BATCH_SIZE]],
                properties=[TASK_KEY["name"]], properties_with_history=[])
            page = self._io.call("read tasks", self._task_batch.read_with_http_info, read)
            for found in page.results:
                if (found.properties or {}).get(TASK_KEY["name"]) == key:
                    return str(found.id)
        return None

    def provision(self) -> list[str]:
        """Create leadflow's property groups and custom contact and task properties if missing."""
        report = []
        for object_type, specs in (("contacts", CUSTOM_PROPERTIES), ("tasks", [TASK_KEY]),
                                   ("companies", COMPANY_PROPERTIES)):
            report.append(self._ensure(
                object_type, "group", GROUP["name"], self._groups.get_by_name_with_http_info,
                self._groups.create_with_http_info,
                PropertyGroupCreate(name=GROUP["name"], label=GROUP["label"], display_order=-1)))
            for spec in specs:
                create = PropertyCreate(group_name=GROUP["name"], form_field=False, **spec)
                report.append(self._ensure(object_type, "property", spec["name"],
                                           self._props.get_by_name_with_http_info,
                                           self._props.create_with_http_info, create))
        return report

    def doctor(self) -> list[Finding]:
        """Read-only proof that the token works and reaches what leadflow uses: the contact
        search and owners (a private app lacking a scope gets 403 there) and leadflow's custom
        contact properties with their types."""
        def check(name: str, probe: Callable[[], str]) -> Finding:
            try:
                return Finding(vendor=VENDOR, check=name, status="ok", detail=probe())
            except VendorError as exc:
                return Finding(vendor=VENDOR, check=name, status="failed", detail=str(exc))
            except API_ERRORS as exc:
                body = _error_body(exc)
                return Finding(vendor=VENDOR, check=name, status="failed",
                               detail=f"HTTP {exc.status} {body.get('category', '')}: "
                                      f"{body.get('message', exc.reason)}")

        def search() -> str:
            return f"{self.count_changed(datetime(2000, 1, 1, tzinfo=UTC))} contacts searchable"

        def owners() -> str:
            self._io.call("owners", self._owners.get_page_with_http_info, limit=1)
            return "owners readable"

        def prop(spec: dict[str, str]) -> Callable[[], str]:
            def probe() -> str:
                try:
                    found = self._io.call(f"read property {spec['name']}",
                                          self._props.get_by_name_with_http_info, "contacts",
                                          spec["name"])
                except API_ERRORS as exc:
                    if exc.status == 404:
                        raise VendorError(VENDOR, "MISSING_PROPERTY", f"contact property "
                                          f"{spec['name']} does not exist: run `leadflow setup "
                                          "hubspot`", retryable=False) from None
                    raise
                if found.type != spec["type"]:
                    raise VendorError(VENDOR, "WRONG_TYPE", f"contact property {spec['name']} "
                                      f"is {found.type}, leadflow writes {spec['type']}",
                                      retryable=False)
                return f"{spec['name']} ({found.type})"
            return probe

        return [check("token and contact search (crm.objects.contacts.read)", search),
                check("owners (crm.objects.owners.read)", owners),
                *(check(f"property {p['name']}", prop(p)) for p in CUSTOM_PROPERTIES)]

    def _ensure(self, object_type: str, kind: str, name: str, get: Callable, create: Callable,
                body: Any) -> str:
        singular = {"tasks": "task", "companies": "company"}
        kind = kind if object_type == "contacts" else f"{singular[object_type]} {kind}"  # task group
        try:
            found = self._io.call(f"read {kind} {name}", get, object_type, name)
        except API_ERRORS as exc:
            if exc.status != 404:
                raise VendorError(VENDOR, f"HTTP_{exc.status}", f"reading {kind} {name}",
                                  retryable=False) from None
        else:
            wanted = getattr(body, "type", None)
            if wanted and getattr(found, "type", wanted) != wanted:
                return f"{kind} {name}: found with type {found.type}, expected {wanted}"
            return f"{kind} {name}: found"
        try:
            self._io.call(f"create {kind} {name}", create, object_type, body)
        except API_ERRORS as exc:
            if exc.status == 409:  # created meanwhile by another worker
                return f"{kind} {name}: found"
            raise VendorError(VENDOR, _error_body(exc).get("category", f"HTTP_{exc.status}"),
                              f"creating {kind} {name}: {_error_body(exc).get('message')}",
                              retryable=False) from None
        return f"{kind} {name}: created"


def _task_input(task: OwnerTask, shape: Any = SimplePublicObjectInputForCreate) -> Any:
    props = {"hs_task_subject": task.subject, "hs_task_body": task.body,
             "hs_task_status": "NOT_STARTED", "hs_task_type": "TODO",
             "hs_timestamp": str(_ms(task.due_at or datetime.now(UTC)))}
    if task.owner_id:
        props["hubspot_owner_id"] = task.owner_id
    if task.key:
        props[TASK_KEY["name"]] = task.key
    link = PublicAssociationsForObject(
        to=PublicObjectId(id=task.record_id),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                               association_type_id=TASK_TO_CONTACT)])
    return shape(properties=props, associations=[link])


def _task_key(props: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(props.get(k) or "") for k in ("hs_task_subject", "hs_task_body",
                                                   "hubspot_owner_id", TASK_KEY["name"]))


def _ms(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _changed(item: Any, read: list[str] = READ_PROPERTIES) -> ChangedRecord:
    props = item.properties or {}
    stamp = props.get("lastmodifieddate")
    modified = datetime.fromisoformat(stamp) if stamp else item.updated_at
    return ChangedRecord(email=props.get("email") or "", record_id=str(item.id),
                         stage_value=props.get("lifecyclestage") or None, modified_at=modified,
                         properties={k: props.get(k) for k in read})
