"""Salesforce connector: leads as Lead records keyed by `Leadflow_Key__c` (the lowercased email).

Login: simple-salesforce builds every login URL as `https://{domain}.salesforce.com/...`, so it
cannot log in to a My Domain-less custom host or a local emulator. The connector therefore runs
the OAuth 2.0 flow itself (`POST {login_url}/services/oauth2/token`: JWT bearer, client
credentials, or the username-password flow Salesforce is retiring) and hands the token to
`Salesforce(instance_url=..., session_id=..., session=...)`. Such a client cannot refresh
itself, so the connector logs in again once when a call fails with INVALID_SESSION_ID; with a
bare session id (no credentials) that failure is a non-retryable VendorError.

Deploying the custom fields: Salesforce creates fields only through the Metadata API, not the
REST API the connector uses. `provision()` reports what the org still lacks, and
`metadata_xml(directory)` writes a `package.xml` plus `objects/Lead.object` and
`objects/Activity.object` (the Task key field) that an admin
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

import jwt
import requests
from pydantic import SecretStr
from simple_salesforce import Salesforce, SFType, format_soql
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from config.lead_fields import DEFAULT_FIELDS
from config.settings import Settings
from connectors import salesforce_accounts as sf_accounts
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

log = logging.getLogger(__name__)
T = TypeVar("T")

API_VERSION = "59.0"
KEY_FIELD = "Leadflow_Key__c"
COLLECTION_LIMIT = 200  # sObject Collections refuses more records per request
PLACEHOLDER = "[not provided]"  # LastName and Company are required on insert
UPSERT_PATH = f"composite/sobjects/Lead/{KEY_FIELD}"
# Lead properties of a snapshot without the playbook's field names (HubSpot-style names) ->
# Salesforce Lead fields: the default `fields:` table.
PROPERTY_FIELDS = {name: spec.salesforce.name for name, spec in DEFAULT_FIELDS.items()
                   if spec.salesforce is not None}
# Number fields among the Lead fields a playbook may map (Object Reference, Lead:
# NumberOfEmployees is an int, AnnualRevenue a currency): written as JSON numbers.
NUMBER_FIELDS = frozenset({"NumberOfEmployees", "AnnualRevenue"})
READ_FIELDS = ("Id", "Email", KEY_FIELD, "Status", "Lead_Stage__c", "Lead_Score__c", "OwnerId",
               "Disqualification_Reason__c", "Loss_Reason__c", "Follow_Up_Date__c", "IsConverted",
               "IsDeleted",
               "MasterRecordId", "SystemModstamp")
# Per-record codes that another attempt can fix; everything else is the record's own fault.
RETRYABLE_RECORD_CODES = {"UNABLE_TO_LOCK_ROW"}
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KNOWN_KEYS_MAX = 100_000  # keys this process saw land; beyond that it forgets and asks again


@dataclass(frozen=True)
class CustomField:
    name: str
    label: str
    type: str  # Metadata API type
    length: int = 0
    external_id: bool = False


# On Task (an Activity field, deployed on Activity): the owner task's key, checked before a create.
TASK_KEY_FIELD = "Leadflow_Task_Key__c"
TASK_KEY = CustomField(TASK_KEY_FIELD, "Leadflow Task Key", "Text", 255)
CUSTOM_FIELDS = (
    CustomField(KEY_FIELD, "Leadflow Key", "Text", 255, external_id=True),
    CustomField("Lead_Stage__c", "Lead Stage", "Text", 80),
    CustomField("Lead_Score__c", "Lead Score", "Number"),
    CustomField("Disqualification_Reason__c", "Disqualification Reason", "Text", 255),
    CustomField("Loss_Reason__c", "Loss Reason", "Text", 255),
    CustomField("Follow_Up_Date__c", "Follow-Up Date", "Date"),
    # Issue 19: written only for playbooks with grades: / icp:.
    CustomField("Fit_Grade__c", "Fit Grade", "Text", 1),
    CustomField("ICP_Status__c", "ICP Status", "Text", 20),
    # The stock playbooks' `fields:` kept in custom Lead fields.
    CustomField("Role__c", "Role", "Text", 80),
    CustomField("Use_Case__c", "Use Case", "Text", 255),
    CustomField("Timeline__c", "Timeline", "Text", 80),
    CustomField("Stakeholders__c", "Stakeholders", "Text", 255),
    CustomField("Budget__c", "Budget", "Text", 80),
    CustomField("Nurture_Path__c", "Nurture Path", "Text", 80),
    CustomField("Snooze_Reason__c", "Snooze Reason", "Text", 255),
)
# On Account (issue 18): connectors/salesforce_accounts.py writes them.
ACCOUNT_CUSTOM_FIELDS = tuple(
    CustomField(name, label, kind, length or 0, external_id=name == sf_accounts.ACCOUNT_KEY_FIELD)
    for name, label, kind, length in sf_accounts.ACCOUNT_FIELDS)


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
    # The playbook's `fields:` read from Salesforce (lifecycle.field_sync.read_names), set by the
    # worker: backfill and reconcile read them with the stage.
    read_fields: tuple[str, ...] = ()

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
        private_key: str | None = None,
        instance_url: str | None = None,
        session_id: str | None = None,
        ca_bundle: str | None = None,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        max_wait_s: float = 25.0,
        api_reserve: float = 0.02,
        timeout_s: float = 30.0,
        assignment_rules: bool = False,
        limit_probe_s: float = 30.0,
    ) -> None:
        self.stage_fields = {k: dict(v) for k, v in stage_fields.items()}
        self._login_url = login_url.rstrip("/")
        self._creds = (username, password, security_token, client_id, client_secret)
        self._private_key = private_key
        self.flow = _flow(username, password, client_id, client_secret, private_key)
        self._can_login = self.flow is not None
        if not self._can_login and not (instance_url and session_id):
            raise VendorError(self.name, "CONFIG", "need a client id with a private key and "
                              "username (JWT bearer), a client secret (client credentials) or a "
                              "username, password and secret (password flow), or an instance "
                              "URL and session id", retryable=False)
        self._direct = (instance_url, session_id)
        self.max_attempts, self.backoff_s, self.max_wait_s = max_attempts, backoff_s, max_wait_s
        self.api_reserve, self.timeout_s = api_reserve, timeout_s
        # True: the org's active Lead assignment rule may reassign leads leadflow routed.
        self.assignment_rules = assignment_rules
        self.limit_probe_s = limit_probe_s
        self.session = requests.Session()
        if ca_bundle:
            # REQUESTS_CA_BUNDLE in the environment would otherwise override `verify`.
            self.session.trust_env = False
            self.session.verify = ca_bundle
        self.session.hooks["response"].append(self._observe)
        self.api_usage: tuple[int, int] | None = None
        self._usage_seen_at = 0.0  # time.monotonic() of the last Sforce-Limit-Info
        self._retry_after: float | None = None
        self._sf: Salesforce | None = None
        self._login_lock = threading.Lock()
        # Keys known to be on a Lead already: no adoption query for them (one per batch else).
        self._known_keys: set[str] = set()

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
            private_key=(settings.salesforce_private_key_file.read_text()
                         if settings.salesforce_private_key_file else None),
            instance_url=settings.salesforce_instance_url,
            session_id=secret(settings.salesforce_session_id),
            ca_bundle=settings.salesforce_ca_bundle,
            assignment_rules=settings.salesforce_assignment_rules,
        )

    def __repr__(self) -> str:
        return f"SalesforceConnector(login_url={self._login_url!r}, user={self._creds[0]!r})"

    def budget_left(self) -> float | None:
        """Share of the org's 24-hour API allowance still free, from the last Sforce-Limit-Info
        (None until Salesforce has said). Every integration of the org draws on it, and a
        collection request counts once for up to 200 records (Salesforce Developer Limits and
        Allocations Quick Reference, "API Request Limits and Allocations"), so the batcher
        spaces this vendor's batch requests as it does HubSpot's."""
        if self.api_usage is None or not self.api_usage[1]:
            return None
        used, total = self.api_usage
        return max(0.0, 1 - used / total)

    # --- the Connector protocol ----------------------------------------------------------

    def upsert_leads(self, leads: list[LeadSnapshot]) -> list[SyncResult]:
        """One sObject Collections upsert per 200 leads; results in input order.

        A collections request may name one external id value only once, so the same lead
        twice in `leads` is written once, with its later snapshot; both get that result.
        """
        latest = {lead.email.strip().lower(): i for i, lead in enumerate(leads)}
        unique = sorted(latest.values())
        results: list[SyncResult | None] = [None] * len(leads)
        budget = _Budget(self.max_wait_s)
        for start in range(0, len(unique), COLLECTION_LIMIT):
            chunk = [(i, leads[i], self._record(leads[i]))
                     for i in unique[start:start + COLLECTION_LIMIT]]
            existing = self._adopt(chunk, budget)
            for _, _, rec in chunk:
                if rec[KEY_FIELD] in existing:
                    # Leave the Email as the org has it: changing even its case is an edit the
                    # duplicate rule looks at, and the key already says who this is.
                    del rec["Email"]
                else:
                    # Required on insert only: never overwrite a name a person typed.
                    rec.setdefault("LastName", PLACEHOLDER)
                    rec.setdefault("Company", PLACEHOLDER)
            # Salesforce runs the active Lead assignment rule on every API create and update
            # unless told not to (REST API Developer Guide, "Assignment Rule Header"), and the
            # rule overwrites OwnerId. leadflow lets it run only on a new Lead it gives no
            # owner (the org routes what leadflow does not); where leadflow sets the owner, or
            # a person already did, the write says `Sforce-Auto-Assign: FALSE`. One request
            # per header value. SALESFORCE_ASSIGNMENT_RULES=true lets the rule run on every write.
            ruled = [c for c in chunk if self.assignment_rules
                     or ("OwnerId" not in c[2] and c[2][KEY_FIELD] not in existing)]
            kept = [c for c in chunk if c not in ruled]
            for group, assign in ((kept, False), (ruled, True)):
                if group:
                    self._upsert_chunk(group, results, budget, _headers(auto_assign=assign))
        for i, lead in enumerate(leads):
            written = results[latest[lead.email.strip().lower()]]
            assert written is not None
            results[i] = written.model_copy(update={"email": lead.email})
            if written.ok:
                self._remember(lead.email.strip().lower())
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
            try:
                page = self._call(budget, lambda sf: sf.query_more(cursor, identifier_is_url=True))
            except VendorError as exc:
                if exc.code != "INVALID_QUERY_LOCATOR":
                    raise
                # Query locators expire (two days); a backfill resuming later reads its
                # window again from the start: records read twice are applied idempotently.
                log.info("salesforce: query cursor expired, restarting the window")
                return self.changed_since(since, until, None)
        else:
            read = [*READ_FIELDS, *(f for f in self.read_fields if f not in READ_FIELDS)]
            soql = (f"SELECT {', '.join(read)} FROM Lead WHERE SystemModstamp > "
                    f"{_soql_time(since, math.floor)}")
            if until is not None:
                soql += f" AND SystemModstamp <= {_soql_time(until, math.ceil)}"
            soql += " ORDER BY SystemModstamp"
            page = self._call(budget, lambda sf: sf.query(soql, include_deleted=True))
        records = [r for r in (_changed(row, self.read_fields) for row in page["records"])
                   if r is not None]
        return ChangedPage(records=records, next_cursor=page.get("nextRecordsUrl"))

    def owners(self) -> list[Owner]:
        rows = self._call(_Budget(self.max_wait_s),
                          lambda sf: sf.query_all("SELECT Id, Email, Name, IsActive FROM User"))
        return [Owner(id=r["Id"], email=(r["Email"] or "").lower(), name=r["Name"] or "",
                      active=bool(r["IsActive"])) for r in rows["records"]]

    # --- accounts (connectors/salesforce_accounts.py) --------------------------------------

    def upsert_accounts(self, accounts: list[AccountSnapshot]) -> list[SyncResult]:
        """Each account's Account, upserted on its key (the domain); results in input order."""
        budget = _Budget(self.max_wait_s)
        return sf_accounts.upsert_accounts(partial(self._call, budget), accounts, self.timeout_s,
                                           _soql_string)

    def account_domain_of(self, email: str) -> str | None:
        """The domain of the Account this email's Lead converted into (ConvertedAccountId)."""
        return sf_accounts.account_domain_of(partial(self._call, _Budget(self.max_wait_s)), email,
                                             KEY_FIELD, _soql_string)

    def account_domains_of(self, emails: list[str]) -> list[str | None]:
        """account_domain_of for many emails (the account joins' batcher): two SOQL queries."""
        return sf_accounts.account_domains_of(partial(self._call, _Budget(self.max_wait_s)), emails,
                                              KEY_FIELD, _soql_string)

    def create_task(self, task: OwnerTask) -> str:
        """A Task on the lead (WhoId), assigned to the task's owner or else the lead's owner.

        The lead is found by SOQL, not by `sobjects/Lead/{key field}/{email}`: an email in the
        URL answers 404 when its ending looks like a file format (the REST guide's example is
        `.inc`). A converted Lead refuses new tasks, so the task goes on its Contact. A keyed task
        is looked up by its key first (SOQL reads what is committed), inside the same retry as
        the create, so a create whose answer was lost is found, not repeated.
        """
        budget = _Budget(self.max_wait_s)
        key = task.email.strip().lower()
        soql = (f"SELECT Id, OwnerId, IsConverted, ConvertedContactId FROM Lead "
                f"WHERE {KEY_FIELD} = {_soql_string(key)}")
        rows = self._call(budget, lambda sf: sf.query(soql))["records"]
        if not rows:
            raise VendorError(self.name, "NOT_FOUND", f"no Salesforce lead for {task.email}",
                              retryable=False)
        lead = rows[0]
        body = _task_fields(task.model_copy(update={
            "record_id": _task_who(lead), "owner_id": task.owner_id or lead["OwnerId"]}))

        def find_or_create(sf: Salesforce) -> str:
            if task.key is not None:
                rows = sf.query(f"SELECT Id FROM Task WHERE {TASK_KEY_FIELD} = "
                                f"{_soql_string(task.key)} LIMIT 1")
                if rows["records"]:
                    return str(rows["records"][0]["Id"])
            return str(_sobject(sf, "Task").create(body)["id"])

        try:
            return self._call(budget, find_or_create)
        except VendorError as exc:
            if task.key is None or TASK_KEY_FIELD not in str(exc):
                raise
        log.warning("salesforce: Task.%s is not deployed (see `leadflow setup salesforce`); the "
                    "task is created without its key, so a retry may duplicate it", TASK_KEY_FIELD)
        return self.create_task(task.model_copy(update={"key": None}))

    def erase_lead(self, email: str) -> None:
        """Deletes the Leads leadflow keyed with this email (Salesforce keeps a deleted record in
        the Recycle Bin until it is emptied, 15 days at most). Leads leadflow did not key are left
        to the org's own erasure process."""
        budget = _Budget(self.max_wait_s)
        soql = format_soql(f"SELECT Id FROM Lead WHERE {KEY_FIELD} = {{}}", email.strip().lower())
        rows = self._call(budget, lambda sf: sf.query_all(soql))["records"]
        for row in rows:
            self._call(budget, partial(_delete_lead, lead_id=row["Id"]))

    def create_tasks(self, tasks: list[OwnerTask]) -> list[SyncResult]:
        """Tasks on Leads whose Id is known: one sObject Collections insert per 200 (WhoId = the
        Lead, allOrNone false, results in input order). Tasks naming no owner (an SDR with no
        Salesforce user) go to their Lead's owner, read for the whole batch in one query. A task
        naming no Lead Id goes the single way, which finds the Lead by its key."""
        results: list[SyncResult | None] = [None] * len(tasks)
        budget = _Budget(self.max_wait_s)
        tasks = self._owned_by_their_leads(budget, tasks, results)
        ready = [i for i, t in enumerate(tasks) if results[i] is None and t.record_id and t.owner_id]
        batched = set(ready)
        for i in range(len(tasks)):
            if results[i] is None and i not in batched:
                results[i] = self._one_task(tasks[i])
        for start in range(0, len(ready), COLLECTION_LIMIT):
            chunk = ready[start:start + COLLECTION_LIMIT]
            try:
                found, made = self._call(budget, partial(self._find_or_insert_tasks,
                                                         tasks=[tasks[i] for i in chunk]))
            except VendorError:  # refused as a whole (e.g. the key field not deployed)
                for i in chunk:
                    results[i] = self._one_task(tasks[i])
                continue
            answers = iter(made)
            for i in chunk:
                key = tasks[i].key
                res = {"success": True, "id": found[key]} if key in found else next(answers)
                error = (res.get("errors") or [{}])[0]
                results[i] = (SyncResult(email=tasks[i].email, ok=True, record_id=res["id"])
                              if res["success"] else
                              SyncResult(email=tasks[i].email, ok=False,
                                         vendor_code=str(error.get("statusCode")),
                                         message=f"task for {tasks[i].email}: "
                                                 f"{error.get('message', '')}",
                                         retryable=error.get("statusCode")
                                         in RETRYABLE_RECORD_CODES))
        return [r for r in results if r is not None]

    def _owned_by_their_leads(self, budget: _Budget, tasks: list[OwnerTask],
                              results: list[SyncResult | None]) -> list[OwnerTask]:
        """Tasks with a Lead Id and no owner get the Lead's OwnerId and WhoId (_task_who), as
        the single way gives them: one SOQL query for the batch. A Lead that is gone answers
        NOT_FOUND for its task."""
        ids = sorted({t.record_id for t in tasks if t.record_id and not t.owner_id})
        if not ids:
            return tasks
        soql = (f"SELECT Id, OwnerId, IsConverted, ConvertedContactId FROM Lead WHERE Id IN "
                f"({', '.join(_soql_string(i) for i in ids)})")
        leads = {r["Id"]: r for r in self._call(budget, lambda sf: sf.query_all(soql))["records"]}
        owned: list[OwnerTask] = []
        for i, task in enumerate(tasks):
            if task.record_id and not task.owner_id:
                lead = leads.get(task.record_id)
                if lead is None:
                    results[i] = SyncResult(email=task.email, ok=False, vendor_code="NOT_FOUND",
                                            message=f"no Salesforce lead for {task.email}",
                                            retryable=False)
                else:
                    task = task.model_copy(update={"record_id": _task_who(lead),
                                                   "owner_id": lead["OwnerId"]})
            owned.append(task)
        return owned

    def _find_or_insert_tasks(self, sf: Salesforce, tasks: list[OwnerTask],
                              ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Keyed tasks already written (by an attempt whose answer was lost) are found, not
        made again; the others go in one collection insert. Run whole on every retry."""
        keys = [t.key for t in tasks if t.key]
        found: dict[str, str] = {}
        if keys:
            rows = sf.query(f"SELECT Id, {TASK_KEY_FIELD} FROM Task WHERE {TASK_KEY_FIELD} IN "
                            f"({', '.join(_soql_string(k) for k in keys)})")["records"]
            found = {r[TASK_KEY_FIELD]: r["Id"] for r in rows}
        todo = [t for t in tasks if t.key not in found]
        if not todo:
            return found, []
        body = {"allOrNone": False,
                "records": [{"attributes": {"type": "Task"}, **_task_fields(t)} for t in todo]}
        return found, sf.restful("composite/sobjects", method="POST", json=body,
                                 timeout=self.timeout_s)

    def _one_task(self, task: OwnerTask) -> SyncResult:
        try:
            return SyncResult(email=task.email, ok=True, record_id=self.create_task(task))
        except VendorError as exc:
            return SyncResult(email=task.email, ok=False, vendor_code=exc.code, message=str(exc),
                              retryable=exc.retryable)

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
        task = self._call(_Budget(self.max_wait_s), lambda sf: _sobject(sf, "Task").describe())
        if TASK_KEY_FIELD not in {f["name"] for f in task["fields"]}:
            missing.append(f"Task.{TASK_KEY_FIELD} (Text, an Activity field)")
        account = self._call(_Budget(self.max_wait_s), lambda sf: _sobject(sf, "Account").describe())
        have = {f["name"] for f in account["fields"]}
        key = sf_accounts.ACCOUNT_KEY_FIELD
        missing += [f"Account.{name} ({kind}{', External ID, Unique' if name == key else ''})"
                    for name, _, kind, _ in sf_accounts.ACCOUNT_FIELDS if name not in have]
        return missing

    def doctor(self) -> list[Finding]:
        """Login, the fields leadflow writes, and the Lead query its adoption runs."""
        def failed(check: str, detail: str) -> Finding:
            return Finding(vendor=self.name, check=check, status="failed", detail=detail)

        try:
            missing = self.provision()
        except VendorError as exc:
            return [failed("login and Lead describe", str(exc))]
        out = [Finding(vendor=self.name, check="login and Lead describe", status="ok",
                       detail=f"logged in at {self._login_url}")]
        if missing:
            return out + [failed(f"field {m}", "deploy it: see `leadflow setup salesforce`")
                          for m in missing]
        out.append(Finding(vendor=self.name, check="Lead fields and Status values", status="ok",
                           detail=", ".join(f.name for f in CUSTOM_FIELDS)))
        try:
            self._call(_Budget(self.max_wait_s), lambda sf: sf.query(
                f"SELECT Id FROM Lead WHERE Email IN ('doctor@leadflow.invalid') "
                f"AND {KEY_FIELD} = null"))
        except VendorError as exc:
            return out + [failed("Lead query by Email", str(exc))]
        return out + [Finding(vendor=self.name, check="Lead query by Email", status="ok")]

    # --- upsert internals ------------------------------------------------------------------

    def _adopt(self, chunk: list[tuple[int, LeadSnapshot, dict[str, Any]]],
               budget: _Budget) -> set[str]:
        """Put leadflow's key on Leads the org already holds for these emails; returns the keys
        that are on a Lead now.

        Reps, web-to-lead forms and imports create Leads without `Leadflow_Key__c`; upserting
        by the key would insert a second Lead with the same Email, which the org's duplicate
        rule refuses (DUPLICATES_DETECTED) or, without one, keeps as a duplicate. So one SOQL
        query per batch finds Leads by Email; for every email that has no keyed Lead yet, the
        oldest open (unconverted) one gets the key, and the upsert then updates it. Converted
        Leads are not adopted: they are read-only and belong to the Contact they became.
        """
        wanted = {rec[KEY_FIELD] for _, _, rec in chunk}
        keys = wanted - self._known_keys
        if not keys:
            return wanted
        emails = ", ".join(_soql_string(k) for k in sorted(keys))
        soql = (f"SELECT Id, Email, {KEY_FIELD}, IsConverted, CreatedDate FROM Lead "
                f"WHERE Email IN ({emails}) ORDER BY CreatedDate")
        rows = self._call(budget, lambda sf: sf.query_all(soql))["records"]
        keyed = {str(r[KEY_FIELD]).lower() for r in rows if r.get(KEY_FIELD)}
        adopt: dict[str, str] = {}
        for row in rows:  # oldest first
            email = (row.get("Email") or "").lower()
            if (email in keys and email not in keyed and email not in adopt
                    and not row.get(KEY_FIELD) and not row.get("IsConverted")):
                adopt[email] = row["Id"]
        existing = (wanted & self._known_keys) | keyed
        if not adopt:
            return existing
        body = {"allOrNone": False, "records": [
            {"attributes": {"type": "Lead"}, "Id": lead_id, KEY_FIELD: key}
            for key, lead_id in adopt.items()]}
        # Putting the key on a rep's Lead must not hand it to the assignment rule.
        answer = self._call(budget, lambda sf: sf.restful(
            "composite/sobjects", method="PATCH", json=body, timeout=self.timeout_s,
            headers=_headers(auto_assign=False)))
        for (key, lead_id), res in zip(adopt.items(), answer or [], strict=True):
            if res.get("success"):
                log.info("salesforce: adopted existing lead %s", lead_id)
                existing.add(key)
            else:
                # The upsert that follows meets the same refusal and reports it per lead.
                log.info("salesforce: could not adopt lead %s: %s", lead_id,
                         (res.get("errors") or [{}])[0].get("statusCode"))
        return existing

    def _remember(self, key: str) -> None:
        if len(self._known_keys) >= KNOWN_KEYS_MAX:
            self._known_keys.clear()
        self._known_keys.add(key)

    def _record(self, lead: LeadSnapshot) -> dict[str, Any]:
        record: dict[str, Any] = {"attributes": {"type": "Lead"},
                                  KEY_FIELD: lead.email.strip().lower(),
                                  "Email": lead.email.strip()}
        if lead.vendor_named:  # "" clears the field (None in Salesforce)
            record.update({f: _field_value(f, v) for f, v in lead.properties.items()})
        for prop, field in PROPERTY_FIELDS.items():
            if not lead.vendor_named and lead.properties.get(prop):
                record[field] = lead.properties[prop]
        record.update(self.stage_fields.get(lead.stage, {}))
        record.update({
            "Lead_Stage__c": lead.stage,
            "Lead_Score__c": lead.score,
            # None clears a stale date when a lead leaves Nurture.
            "Follow_Up_Date__c": lead.follow_up_date.isoformat() if lead.follow_up_date else None,
        })
        if lead.fit_grade is not None:
            record["Fit_Grade__c"] = lead.fit_grade
        if lead.icp is not None:
            record["ICP_Status__c"] = lead.icp
        if not lead.keep_crm_reasons:  # None clears a stale reason once a lead re-enters
            record.update({"Disqualification_Reason__c": lead.disqualification_reason,
                           "Loss_Reason__c": lead.loss_reason})
        if lead.owner_id:
            record["OwnerId"] = lead.owner_id
        return record

    def _upsert_chunk(
        self, pending: list[tuple[int, LeadSnapshot, dict[str, Any]]],
        results: list[SyncResult | None], budget: _Budget, headers: dict[str, str],
    ) -> None:
        attempt = 0
        while pending:
            body = {"allOrNone": False, "records": [rec for _, _, rec in pending]}
            try:
                answer = self._call(budget, partial(self._send_upsert, body=body,
                                                    headers=headers))
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

    def _send_upsert(self, sf: Salesforce, body: dict[str, Any], headers: dict[str, str]) -> Any:
        return sf.restful(UPSERT_PATH, method="PATCH", json=body, timeout=self.timeout_s,
                          headers=headers)

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
        if code == "DUPLICATES_DETECTED":
            return SyncResult(email=lead.email, ok=False, vendor_code=code, retryable=False,
                              message=_duplicate_message(lead.email, error))
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

    def _grant(self) -> dict[str, str]:
        """The token request of this connector's OAuth flow (Salesforce Help, "OAuth
        Authorization Flows"): JWT bearer and client credentials for servers; the
        username-password flow only for orgs that still allow it."""
        username, password, token, client_id, client_secret = self._creds
        if self.flow == "jwt":
            # "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration": iss is the
            # connected app's consumer key, sub the user, aud the login host, RS256-signed,
            # valid at most 3 minutes.
            claims = {"iss": client_id, "sub": username, "aud": self._login_url,
                      "exp": int(time.time()) + 180}
            assertion = jwt.encode(claims, str(self._private_key), algorithm="RS256")
            return {"grant_type": JWT_GRANT, "assertion": assertion}
        if self.flow == "client_credentials":
            return {"grant_type": "client_credentials", "client_id": str(client_id),
                    "client_secret": str(client_secret)}
        return {"grant_type": "password", "client_id": str(client_id),
                "client_secret": str(client_secret), "username": str(username),
                "password": f"{password}{token}"}

    def _login(self) -> Salesforce:
        username = self._creds[0] or f"client {self._creds[3]}"
        form = self._grant()
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
                    limited = last[0] == "REQUEST_LIMIT_EXCEEDED"
                    raise VendorError(self.name, last[0], last[1], retryable=limited,
                                      retry_after=self.limit_probe_s if limited else None) from exc
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
        and other integrations sharing it; waiting seconds cannot help a 24-hour limit.

        The allowance is counted over the last 24 hours and calls are blocked "until usage for
        the preceding 24 hours drops below the limit" (Salesforce Help, System Overview: API
        Usage), so there is no reset time to wait for: once the usage seen is older than
        `limit_probe_s`, one call goes through and its Sforce-Limit-Info says whether room is
        back. Callers are told when the next probe is due (`retry_after`)."""
        if self.api_usage is None:
            return
        used, total = self.api_usage
        if total and used >= total * (1 - self.api_reserve):
            wait = self.limit_probe_s - (time.monotonic() - self._usage_seen_at)
            if wait > 0:
                raise VendorError(self.name, "REQUEST_LIMIT_EXCEEDED", f"holding back at api-usage "
                                  f"{used}/{total} to keep {self.api_reserve:.0%} in reserve",
                                  retryable=True, retry_after=wait)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** (attempt - 1), 8.0))

    def _observe(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests hook: remember the usage header and Retry-After of every answer."""
        usage = re.search(r"api-usage=(\d+)/(\d+)", resp.headers.get("Sforce-Limit-Info", ""))
        if usage:
            self.api_usage = (int(usage[1]), int(usage[2]))
            self._usage_seen_at = time.monotonic()
        retry_after = resp.headers.get("Retry-After", "")
        if retry_after.isdigit():
            self._retry_after = float(retry_after)


def _task_who(lead: Mapping[str, Any]) -> str:
    """What a task on this Lead names as WhoId: a converted Lead refuses new tasks (its Contact
    takes them)."""
    return str(lead["ConvertedContactId"] if lead.get("IsConverted") else lead["Id"])


def _delete_lead(sf: Salesforce, lead_id: str) -> Any:
    return _sobject(sf, "Lead").delete(lead_id)


def _sobject(sf: Salesforce, name: str) -> SFType:
    # Salesforce.__getattr__ is typed to also return bulk handlers; these names are sObjects.
    return cast(SFType, getattr(sf, name))


def _task_fields(task: OwnerTask) -> dict[str, Any]:
    fields: dict[str, Any] = {"WhoId": task.record_id, "OwnerId": task.owner_id,
                              "Subject": task.subject[:255], "Description": task.body,
                              "Status": "Not Started", "Priority": "Normal"}
    if task.due_at is not None:
        fields["ActivityDate"] = task.due_at.date().isoformat()
    if task.key is not None:
        fields[TASK_KEY_FIELD] = task.key
    return fields


def _first_error(exc: SalesforceError) -> tuple[str, str]:
    """(errorCode, message) from Salesforce's JSON array error body."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode") or first.get("statusCode")), str(first.get("message"))
    if isinstance(exc, SalesforceResourceNotFound):
        return "NOT_FOUND", str(content)[:200]
    return f"HTTP_{exc.status}", str(content)[:200]


def _flow(username: str | None, password: str | None, client_id: str | None,
          client_secret: str | None, private_key: str | None) -> str | None:
    """Which OAuth flow the configured credentials make: a private key means JWT bearer, a
    password the username-password flow, a client secret alone client credentials."""
    if client_id and private_key and username:
        return "jwt"
    if client_id and client_secret and username and password is not None:
        return "password"
    if client_id and client_secret and not username:
        return "client_credentials"
    return None


def _headers(*, auto_assign: bool) -> dict[str, str]:
    return {} if auto_assign else {"Sforce-Auto-Assign": "FALSE"}


def _duplicate_message(email: str, error: Mapping[str, Any]) -> str:
    """DUPLICATES_DETECTED after adoption: what is in the way and what a person can do."""
    ids = [m["record"]["Id"]
           for result in (error.get("duplicateResult") or {}).get("matchResults", [])
           for m in result.get("matchRecords", []) if m.get("record", {}).get("Id")]
    rule = (error.get("duplicateResult") or {}).get("duplicateRule", "a duplicate rule")
    return (f"DUPLICATES_DETECTED: duplicate rule {rule} refused lead {email}: other Leads with this "
            f"email exist ({', '.join(ids) or 'ids not given'}) that leadflow cannot adopt "
            "(converted, or several open ones). Merge or delete the duplicates in Salesforce, "
            "then send the lead `resync`.")


def _field_value(field: str, value: str) -> Any:
    if not value:
        return None
    if field in NUMBER_FIELDS:
        try:
            number = float(value)
        except ValueError:
            return value  # Salesforce names the field in its refusal
        return int(number) if number.is_integer() else number
    return value


def _soql_string(value: str) -> str:
    """A SOQL string literal (SOQL and SOSL Reference, "Quoted String Escape Sequences")."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


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


def _changed(row: Mapping[str, Any], read: tuple[str, ...] = ()) -> ChangedRecord | None:
    email = row.get(KEY_FIELD) or (row.get("Email") or "").lower()
    if not email:
        return None  # a lead someone made by hand without an email is not leadflow's
    props = {k: None if row.get(k) is None else str(row[k])
             for k in ("Lead_Stage__c", "Lead_Score__c", "OwnerId", "Disqualification_Reason__c",
                       "Loss_Reason__c", "Follow_Up_Date__c", "IsConverted")}
    props |= {k: None if row.get(k) is None else str(row[k]) for k in read}
    return ChangedRecord(
        email=email, record_id=row["Id"], stage_value=row.get("Status"),
        modified_at=datetime.strptime(row["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z"),
        properties=props, deleted=bool(row.get("IsDeleted")),
        merged_into=row.get("MasterRecordId"),
    )


def metadata_xml(directory: str | Path) -> list[Path]:
    """Write a Metadata API deploy package adding leadflow's Lead fields; returns the files.

    Layout: `package.xml`, `objects/Lead.object`, `objects/Activity.object` (CustomField
    entries; Task's custom fields are Activity fields) and `objects/Account.object`. Deploy with
    `sf project deploy start --metadata-dir <directory>` or Workbench; then grant field-level
    security on the fields to the integration user's profile or permission set.
    """
    root = Path(directory)
    (root / "objects").mkdir(parents=True, exist_ok=True)
    members = "".join(f"        <members>Lead.{f.name}</members>\n" for f in CUSTOM_FIELDS)
    members += f"        <members>Activity.{TASK_KEY.name}</members>\n"
    members += "".join(f"        <members>Account.{f.name}</members>\n" for f in ACCOUNT_CUSTOM_FIELDS)
    package = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <types>\n{members}        <name>CustomField</name>\n    </types>\n"
        f"    <version>{API_VERSION}</version>\n</Package>\n"
    )
    paths = [root / "package.xml", root / "objects" / "Lead.object",
             root / "objects" / "Activity.object", root / "objects" / "Account.object"]
    paths[0].write_text(package, encoding="utf-8")
    paths[1].write_text(_object_xml(CUSTOM_FIELDS), encoding="utf-8")
    paths[2].write_text(_object_xml((TASK_KEY,)), encoding="utf-8")
    paths[3].write_text(_object_xml(ACCOUNT_CUSTOM_FIELDS), encoding="utf-8")
    return paths


def _object_xml(fields: tuple[CustomField, ...]) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            + "".join(_field_xml(f) for f in fields) + "</CustomObject>\n")


def _field_xml(f: CustomField) -> str:
    extra = {"Text": f"        <length>{f.length}</length>\n",
             "Number": "        <precision>18</precision>\n        <scale>0</scale>\n",
             "Date": "",
             # Metadata API, CustomField: a Checkbox needs its defaultValue.
             "Checkbox": "        <defaultValue>false</defaultValue>\n"}[f.type]
    if f.external_id:
        extra += ("        <externalId>true</externalId>\n        <unique>true</unique>\n"
                  "        <caseSensitive>false</caseSensitive>\n")
    return (f"    <fields>\n        <fullName>{f.name}</fullName>\n"
            f"        <label>{escape(f.label)}</label>\n        <type>{f.type}</type>\n"
            f"        <required>false</required>\n{extra}    </fields>\n")
