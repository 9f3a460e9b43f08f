"""Salesforce connector: leads as Lead records keyed by `Leadflow_Key__c` (the lowercased email).

Login: simple-salesforce builds every login URL as `https://{domain}.salesforce.com/...`, so it
cannot log in to a My Domain-less custom host or a local emulator. The connector therefore runs
the OAuth 2.0 username-password flow itself (`POST {login_url}/services/oauth2/token`) and hands
the token to `Salesforce(instance_url=..., session_id=..., session=...)`. Such a client cannot
refresh itself, so the connector logs in again once when a call fails with INVALID_SESSION_ID;
with a bare session id (no credentials) that failure is a non-retryable VendorError.

Deploying the custom fields: Salesforce creates fields only through the Metadata API, not the
REST API the connector uses. `provision()` reports what the org still lacks, and
`metadata_xml(directory)` writes a `package.xml` plus `objects/Lead.object` that an admin
deploys (`sf project deploy start --metadata-dir DIR`, or Workbench > Migration > Deploy).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast
from xml.sax.saxutils import escape

import requests
from pydantic import SecretStr
from simple_salesforce import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from config.settings import Settings
from connectors.base import (
    ChangedPage,
    ChangedRecord,
    LeadSnapshot,
    Owner,
    OwnerTask,
    SyncResult,
    VendorError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

API_VERSION = "59.0"
KEY_FIELD = "Leadflow_Key__c"
COLLECTION_LIMIT = 200  # sObject Collections refuses more records per request
PLACEHOLDER = "[not provided]"  # LastName and Company are required on insert
UPSERT_PATH = f"composite/sobjects/Lead/{KEY_FIELD}"
# Lead properties leadflow knows (HubSpot-style names) -> Salesforce Lead fields.
PROPERTY_FIELDS = {
    "firstname": "FirstName", "lastname": "LastName", "company": "Company", "phone": "Phone",
    "jobtitle": "Title", "website": "Website", "industry": "Industry", "country": "Country",
    "city": "City", "state": "State",
}
READ_FIELDS = ("Id", "Email", KEY_FIELD, "Status", "Lead_Stage__c", "Lead_Score__c", "OwnerId",
               "Disqualification_Reason__c", "Loss_Reason__c", "Follow_Up_Date__c", "IsConverted",
               "IsDeleted",
               "MasterRecordId", "SystemModstamp")
# Per-record codes that another attempt can fix; everything else is the record's own fault.
RETRYABLE_RECORD_CODES = {"UNABLE_TO_LOCK_ROW"}


@dataclass(frozen=True)
class CustomField:
    name: str
    label: str
    type: str  # Metadata API type
    length: int = 0
    external_id: bool = False


CUSTOM_FIELDS = (
    CustomField(KEY_FIELD, "Leadflow Key", "Text", 255, external_id=True),
    CustomField("Lead_Stage__c", "Lead Stage", "Text", 80),
    CustomField("Lead_Score__c", "Lead Score", "Number"),
    CustomField("Disqualification_Reason__c", "Disqualification Reason", "Text", 255),
    CustomField("Loss_Reason__c", "Loss Reason", "Text", 255),
    CustomField("Follow_Up_Date__c", "Follow-Up Date", "Date"),
)


class _Budget:
    """Bounds the total time one connector call may spend sleeping between retries."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def sleep(self, seconds: float) -> bool:
        if time.monotonic() + seconds > self.deadline:
            return False
        time.sleep(seconds)
        return True


class SalesforceConnector:
    name = "salesforce"

    def __init__(
        self,
        *,
        stage_fields: Mapping[str, Mapping[str, str]],
        login_url: str = "https://login.salesforce.com",
        username: str | None = None,
        password: str | None = None,
        security_token: str = "",
        client_id: str | None = None,
        client_secret: str | None = None,
        instance_url: str | None = None,
        session_id: str | None = None,
        ca_bundle: str | None = None,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        max_wait_s: float = 25.0,
        api_reserve: float = 0.02,
        timeout_s: float = 30.0,
    ) -> None:
        self.stage_fields = {k: dict(v) for k, v in stage_fields.items()}
        self._login_url = login_url.rstrip("/")
        self._creds = (username, password, security_token, client_id, client_secret)
        self._can_login = all(c is not None for c in (username, password, client_id,
                                                      client_secret))
        if not self._can_login and not (instance_url and session_id):
            raise VendorError(self.name, "CONFIG", "need username, password, client id and "
                              "secret, or an instance URL and session id", retryable=False)
        self._direct = (instance_url, session_id)
        self.max_attempts, self.backoff_s, self.max_wait_s = max_attempts, backoff_s, max_wait_s
        self.api_reserve, self.timeout_s = api_reserve, timeout_s
        self.session = requests.Session()
        if ca_bundle:
            # REQUESTS_CA_BUNDLE in the environment would otherwise override `verify`.
            self.session.trust_env = False
            self.session.verify = ca_bundle
        self.session.hooks["response"].append(self._observe)
        self.api_usage: tuple[int, int] | None = None
        self._retry_after: float | None = None
        self._sf: Salesforce | None = None
        self._login_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, stage_fields: Mapping[str, Mapping[str, str]]
    ) -> SalesforceConnector:
        def secret(value: SecretStr | None) -> str | None:
            return value.get_secret_value() if value is not None else None

        return cls(
            stage_fields=stage_fields,
            login_url=settings.salesforce_base_url,
            username=settings.salesforce_username,
            password=secret(settings.salesforce_password),
            security_token=secret(settings.salesforce_security_token) or "",
            client_id=settings.salesforce_client_id,
            client_secret=secret(settings.salesforce_client_secret),
            instance_url=settings.salesforce_instance_url,
            session_id=secret(settings.salesforce_session_id),
            ca_bundle=settings.salesforce_ca_bundle,
        )

    def __repr__(self) -> str:
        return f"SalesforceConnector(login_url={self._login_url!r}, user={self._creds[0]!r})"

    # --- the Connector protocol ----------------------------------------------------------

    def upsert_leads(self, leads: list[LeadSnapshot]) -> list[SyncResult]:
        """One sObject Collections upsert per 200 leads; results in input order."""
        results: list[SyncResult | None] = [None] * len(leads)
        budget = _Budget(self.max_wait_s)
        for start in range(0, len(leads), COLLECTION_LIMIT):
            chunk = [(i, leads[i], self._record(leads[i]))
                     for i in range(start, min(start + COLLECTION_LIMIT, len(leads)))]
            self._upsert_chunk(chunk, results, budget)
        return [r for r in results if r is not None]

    def changed_since(
        self, since: datetime, until: datetime | None, cursor: str | None
    ) -> ChangedPage:
        """Leads whose SystemModstamp is in (since, until], deleted and merged ones included.

        The cursor is Salesforce's `nextRecordsUrl`; bounds are widened to whole seconds
        (SOQL datetime literals have none finer), so a record may show up in two windows.
        """
        budget = _Budget(self.max_wait_s)
        if cursor:
            page = self._call(budget, lambda sf: sf.query_more(cursor, identifier_is_url=True))
        else:
            soql = (f"SELECT {', '.join(READ_FIELDS)} FROM Lead WHERE SystemModstamp > "
                    f"{_soql_time(since, math.floor)}")
            if until is not None:
                soql += f" AND SystemModstamp <= {_soql_time(until, math.ceil)}"
            soql += " ORDER BY SystemModstamp"
            page = self._call(budget, lambda sf: sf.query(soql, include_deleted=True))
        records = [r for r in map(_changed, page["records"]) if r is not None]
        return ChangedPage(records=records, next_cursor=page.get("nextRecordsUrl"))

    def owners(self) -> list[Owner]:
        rows = self._call(_Budget(self.max_wait_s),
                          lambda sf: sf.query_all("SELECT Id, Email, Name, IsActive FROM User"))
        return [Owner(id=r["Id"], email=(r["Email"] or "").lower(), name=r["Name"] or "",
                      active=bool(r["IsActive"])) for r in rows["records"]]

    def create_task(self, task: OwnerTask) -> str:
        """A Task on the lead (WhoId), assigned to the task's owner or else the lead's owner."""
        budget = _Budget(self.max_wait_s)
        key = task.email.strip().lower()  # simple-salesforce URL-quotes it
        try:
            lead = self._call(budget, lambda sf: _sobject(sf, "Lead").get_by_custom_id(KEY_FIELD, key))
        except VendorError as exc:
            if exc.code in ("NOT_FOUND", "ENTITY_IS_DELETED"):
                raise VendorError(self.name, exc.code, f"no Salesforce lead for {task.email}",
                                  retryable=False) from exc
            raise
        body = {"WhoId": lead["Id"], "OwnerId": task.owner_id or lead["OwnerId"],
                "Subject": task.subject[:255], "Description": task.body,
                "Status": "Not Started", "Priority": "Normal"}
        if task.due_at is not None:
            body["ActivityDate"] = task.due_at.date().isoformat()
        created = self._call(budget, lambda sf: _sobject(sf, "Task").create(body))
        return str(created["id"])

    def provision(self) -> list[str]:
        """What the org still lacks for leadflow: custom fields and Status picklist values.

        An empty list means ready. Fields are deployed with the Metadata API, see metadata_xml().
        """
        describe = self._call(_Budget(self.max_wait_s), lambda sf: _sobject(sf, "Lead").describe())
        fields = {f["name"]: f for f in describe["fields"]}
        missing = [f"Lead.{f.name} ({f.type}{', External ID, Unique' if f.external_id else ''})"
                   for f in CUSTOM_FIELDS if f.name not in fields]
        statuses = {p["value"] for p in fields.get("Status", {}).get("picklistValues", [])}
        wanted = sorted({v["Status"] for v in self.stage_fields.values() if "Status" in v})
        missing += [f"Lead.Status picklist value {s!r}" for s in wanted if s not in statuses]
        return missing

    # --- upsert internals ------------------------------------------------------------------

    def _record(self, lead: LeadSnapshot) -> dict[str, Any]:
        record: dict[str, Any] = {"attributes": {"type": "Lead"},
                                  KEY_FIELD: lead.email.strip().lower(),
                                  "Email": lead.email.strip()}
        for prop, field in PROPERTY_FIELDS.items():
            if lead.properties.get(prop):
                record[field] = lead.properties[prop]
        record.setdefault("LastName", PLACEHOLDER)
        record.setdefault("Company", PLACEHOLDER)
        record.update(self.stage_fields.get(lead.stage, {}))
        record.update({
            "Lead_Stage__c": lead.stage,
            "Lead_Score__c": lead.score,
            # None clears a stale date when a lead leaves Nurture.
            "Follow_Up_Date__c": lead.follow_up_date.isoformat() if lead.follow_up_date else None,
        })
        if not lead.keep_crm_reasons:  # None clears a stale reason once a lead re-enters
            record.update({"Disqualification_Reason__c": lead.disqualification_reason,
                           "Loss_Reason__c": lead.loss_reason})
        if lead.owner_id:
            record["OwnerId"] = lead.owner_id
        return record

    def _upsert_chunk(
        self, pending: list[tuple[int, LeadSnapshot, dict[str, Any]]],
        results: list[SyncResult | None], budget: _Budget,
    ) -> None:
        attempt = 0
        while pending:
            body = {"allOrNone": False, "records": [rec for _, _, rec in pending]}
            try:
                answer = self._call(budget, partial(self._send_upsert, body=body))
            except VendorError as exc:
                pending = self._isolate_bad_field(exc, pending, results)
                continue
            locked = []
            for (index, lead, rec), res in zip(pending, answer, strict=True):
                error = (res.get("errors") or [{}])[0]
                if res["success"]:
                    results[index] = SyncResult(email=lead.email, ok=True, record_id=res["id"])
                elif error.get("statusCode") == "UNABLE_TO_LOCK_ROW":
                    locked.append((index, lead, rec))
                    results[index] = self._failure(lead, error)
                else:
                    results[index] = self._failure(lead, error)
            attempt += 1
            # Lock contention clears in moments: retry only the locked records, with backoff.
            if locked and attempt < self.max_attempts and budget.sleep(self._backoff(attempt)):
                log.info("salesforce: %d leads locked, retrying", len(locked))
                pending = locked
            else:
                pending = []

    def _send_upsert(self, sf: Salesforce, body: dict[str, Any]) -> Any:
        return sf.restful(UPSERT_PATH, method="PATCH", json=body, timeout=self.timeout_s)

    def _isolate_bad_field(
        self, exc: VendorError, pending: list[tuple[int, LeadSnapshot, dict[str, Any]]],
        results: list[SyncResult | None],
    ) -> list[tuple[int, LeadSnapshot, dict[str, Any]]]:
        """An unknown field fails the whole request; fail only the leads that carry it.

        If every lead carries it (a custom field not deployed), it is a configuration error.
        """
        match = re.search(r"No such column '(\w+)'", str(exc))
        if exc.code != "INVALID_FIELD" or not match:
            raise exc
        field = match[1]
        carrying = [p for p in pending if field in p[2]]
        if not carrying or len(carrying) == len(pending):
            raise VendorError(self.name, "INVALID_FIELD", f"Lead field {field} does not exist "
                              "in this org; deploy leadflow's fields (see provision())",
                              retryable=False) from exc
        for index, lead, _ in carrying:
            results[index] = self._failure(lead, {"statusCode": "INVALID_FIELD",
                                                  "message": match[0], "fields": [field]})
        return [p for p in pending if field not in p[2]]

    def _failure(self, lead: LeadSnapshot, error: Mapping[str, Any]) -> SyncResult:
        code = str(error.get("statusCode") or "UNKNOWN_EXCEPTION")
        fields = ", ".join(error.get("fields") or []) or "(record)"
        return SyncResult(
            email=lead.email, ok=False, vendor_code=code, retryable=code in RETRYABLE_RECORD_CODES,
            message=f"Salesforce refused lead {lead.email}: field {fields}: {code}: "
                    f"{error.get('message', '')}",
        )

    # --- transport: login, retries, pacing -------------------------------------------------

    def _client(self) -> Salesforce:
        with self._login_lock:
            if self._sf is None:
                if self._can_login:
                    self._sf = self._login()
                else:
                    instance_url, session_id = self._direct
                    self._sf = Salesforce(instance_url=instance_url, session_id=session_id,
                                          session=self.session, version=API_VERSION)
            return self._sf

    def _login(self) -> Salesforce:
        username, password, token, client_id, client_secret = self._creds
        form = {"grant_type": "password", "client_id": client_id, "client_secret": client_secret,
                "username": username, "password": f"{password}{token}"}
        try:
            resp = self.session.post(f"{self._login_url}/services/oauth2/token", data=form,
                                     timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise VendorError(self.name, "LOGIN_UNREACHABLE", type(exc).__name__,
                              retryable=True) from exc
        if resp.status_code >= 500:
            raise VendorError(self.name, f"HTTP_{resp.status_code}", "login failed",
                              retryable=True)
        body = _json(resp)
        if resp.status_code != 200 or "access_token" not in body:
            code = str(body.get("error") or f"HTTP_{resp.status_code}")
            raise VendorError(self.name, code, f"login as {username} refused: "
                              f"{body.get('error_description', '')}", retryable=False)
        return Salesforce(instance_url=body["instance_url"], session_id=body["access_token"],
                          session=self.session, version=API_VERSION)

    def _call(self, budget: _Budget, fn: Callable[[Salesforce], T]) -> T:
        """Run one simple-salesforce call with re-login, backoff retries and pacing."""
        relogged, last = False, ("UNKNOWN", "no attempt made")
        for attempt in range(1, self.max_attempts + 1):
            self._pace()
            self._retry_after = None
            try:
                return fn(self._client())
            except SalesforceExpiredSession as exc:
                if relogged or not self._can_login:
                    raise VendorError(self.name, "INVALID_SESSION_ID", "session expired or "
                                      "invalid", retryable=False) from exc
                relogged, self._sf = True, None
                continue
            except SalesforceError as exc:
                last = _first_error(exc)
                if not self._transient(exc, *last):
                    raise VendorError(self.name, last[0], last[1],
                                      retryable=last[0] == "REQUEST_LIMIT_EXCEEDED") from exc
            except requests.RequestException as exc:
                last = ("CONNECTION_ERROR", type(exc).__name__)
            delay = self._retry_after or self._backoff(attempt)
            log.info("salesforce: %s, retrying in %.2fs", last[0], delay)
            if attempt == self.max_attempts or not budget.sleep(delay):
                break
        raise VendorError(self.name, last[0], f"still failing after retries: {last[1]}",
                          retryable=True)

    @staticmethod
    def _transient(exc: SalesforceError, code: str, message: str) -> bool:
        if isinstance(exc, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
            # TotalRequests is the rolling 24 h limit: it will not clear within a retry.
            # Other REQUEST_LIMIT_EXCEEDED (concurrent long requests) clear in seconds.
            return "TotalRequests" not in message
        return exc.status >= 500 or code in RETRYABLE_RECORD_CODES

    def _pace(self) -> None:
        """Stop before the org's daily API allowance is gone, leaving a reserve for the people
        and other integrations sharing it; waiting seconds cannot help a 24-hour limit."""
        if self.api_usage is None:
            return
        used, total = self.api_usage
        if total and used >= total * (1 - self.api_reserve):
            raise VendorError(self.name, "REQUEST_LIMIT_EXCEEDED", f"holding back at api-usage "
                              f"{used}/{total} to keep {self.api_reserve:.0%} in reserve",
                              retryable=True)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** (attempt - 1), 8.0))

    def _observe(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests hook: remember the usage header and Retry-After of every answer."""
        usage = re.search(r"api-usage=(\d+)/(\d+)", resp.headers.get("Sforce-Limit-Info", ""))
        if usage:
            self.api_usage = (int(usage[1]), int(usage[2]))
        retry_after = resp.headers.get("Retry-After", "")
        if retry_after.isdigit():
            self._retry_after = float(retry_after)


def _sobject(sf: Salesforce, name: str) -> SFType:
    # Salesforce.__getattr__ is typed to also return bulk handlers; these names are sObjects.
    return cast(SFType, getattr(sf, name))


def _first_error(exc: SalesforceError) -> tuple[str, str]:
    """(errorCode, message) from Salesforce's JSON array error body."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode") or first.get("statusCode")), str(first.get("message"))
    if isinstance(exc, SalesforceResourceNotFound):
        return "NOT_FOUND", str(content)[:200]
    return f"HTTP_{exc.status}", str(content)[:200]


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _soql_time(moment: datetime, rounding: Callable[[float], int]) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    whole = datetime.fromtimestamp(rounding(moment.timestamp()), UTC)
    return whole.strftime("%Y-%m-%dT%H:%M:%SZ")


def _changed(row: Mapping[str, Any]) -> ChangedRecord | None:
    email = row.get(KEY_FIELD) or (row.get("Email") or "").lower()
    if not email:
        return None  # a lead someone made by hand without an email is not leadflow's
    props = {k: None if row.get(k) is None else str(row[k])
             for k in ("Lead_Stage__c", "Lead_Score__c", "OwnerId", "Disqualification_Reason__c",
                       "Loss_Reason__c", "Follow_Up_Date__c", "IsConverted")}
    return ChangedRecord(
        email=email, record_id=row["Id"], stage_value=row.get("Status"),
        modified_at=datetime.strptime(row["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z"),
        properties=props, deleted=bool(row.get("IsDeleted")),
        merged_into=row.get("MasterRecordId"),
    )


def metadata_xml(directory: str | Path) -> list[Path]:
    """Write a Metadata API deploy package adding leadflow's Lead fields; returns the files.

    Layout: `package.xml` and `objects/Lead.object` (CustomField entries). Deploy with
    `sf project deploy start --metadata-dir <directory>` or Workbench; then grant field-level
    security on the fields to the integration user's profile or permission set.
    """
    root = Path(directory)
    (root / "objects").mkdir(parents=True, exist_ok=True)
    members = "".join(f"        <members>Lead.{f.name}</members>\n" for f in CUSTOM_FIELDS)
    package = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <types>\n{members}        <name>CustomField</name>\n    </types>\n"
        f"    <version>{API_VERSION}</version>\n</Package>\n"
    )
    obj = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        + "".join(_field_xml(f) for f in CUSTOM_FIELDS) + "</CustomObject>\n"
    )
    paths = [root / "package.xml", root / "objects" / "Lead.object"]
    paths[0].write_text(package, encoding="utf-8")
    paths[1].write_text(obj, encoding="utf-8")
    return paths


def _field_xml(f: CustomField) -> str:
    extra = {"Text": f"        <length>{f.length}</length>\n",
             "Number": "        <precision>18</precision>\n        <scale>0</scale>\n",
             "Date": ""}[f.type]
    if f.external_id:
        extra += ("        <externalId>true</externalId>\n        <unique>true</unique>\n"
                  "        <caseSensitive>false</caseSensitive>\n")
    return (f"    <fields>\n        <fullName>{f.name}</fullName>\n"
            f"        <label>{escape(f.label)}</label>\n        <type>{f.type}</type>\n"
            f"        <required>false</required>\n{extra}    </fields>\n")
