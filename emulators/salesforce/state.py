"""In-memory Salesforce org: records, sessions, API usage, call counts and planted faults.

Every public method takes the lock: uvicorn serves requests on its own thread while tests
read and change the same object from theirs.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt

from emulators.common import Faults
from emulators.salesforce import schema
from emulators.salesforce.schema import error

PREFIX = {"Lead": "00Q", "Task": "00T", "User": "005", "Contact": "003", "Account": "001"}
DEFAULT_CLIENT_ID = "leadflow-local-client"
DEFAULT_CLIENT_SECRET = "leadflow-local-secret"
DEFAULT_USERNAME = "integration@leadflow.local"
DEFAULT_PASSWORD = "local-password"
DEFAULT_SECURITY_TOKEN = "localtoken"
ASSIGNMENT_RULE_USER = "lead.queue@leadflow.local"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Save:
    """What an API request's headers ask of a save. Direct calls (the tests' and the control
    API's stand-in for people in the UI) default to neither."""

    allow_save: bool = False  # Sforce-Duplicate-Rule-Header: allowSave=true
    auto_assign: bool = False  # run the active Lead assignment rule (Sforce-Auto-Assign)


class SalesforceState:
    def __init__(
        self,
        *,
        custom_fields: bool | str = True,
        daily_limit: int = 15_000,
        query_batch_size: int = 2000,
        statuses: tuple[str, ...] = schema.DEFAULT_STATUSES,
        # Most orgs keep the standard Lead duplicate rule active (Setup > Duplicate Rules):
        # on by default; False models an org that switched it off.
        duplicate_rule: bool = True,
        # Orgs route new Leads with an active Lead assignment rule (Setup > Lead Assignment
        # Rules): on by default, assigning to a seeded "Lead Queue" user; False: no active rule.
        assignment_rule: bool = True,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        security_token: str = DEFAULT_SECURITY_TOKEN,
        password_flow: bool = True,
        jwt_public_key: str | None = None,
        client_credentials_user: str | None = DEFAULT_USERNAME,
    ) -> None:
        self.lock = threading.RLock()
        self.custom_fields = custom_fields
        self.daily_limit = daily_limit
        self.query_batch_size = query_batch_size
        self.statuses = statuses
        self.duplicate_rule = duplicate_rule
        self.assignment_rule = assignment_rule
        self.credentials = (client_id, client_secret, username, password + security_token)
        # Salesforce Help, "Block OAuth Username-Password Flows": orgs can (and are advised to)
        # refuse it; False models such an org.
        self.password_flow = password_flow
        # The certificate (or public key, PEM) uploaded to the connected app for JWT bearer.
        self.jwt_public_key = jwt_public_key
        # The "Run As" user of the client credentials flow (None: the flow is not enabled).
        self.client_credentials_user = client_credentials_user
        self.faults = Faults()
        self.reset()

    def reset(self) -> None:
        """Empty org with the seeded users; sessions survive so connected clients keep working."""
        with self.lock:
            self.records: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in PREFIX}
            self.sessions: set[str] = getattr(self, "sessions", set())
            self.calls: Counter[str] = Counter()
            self.api_usage = 0
            self.lock_row_failures = 0
            self.logins = 0
            # locator -> (rows already rendered, batch size, opened at), like Salesforce's
            # server cursors, which expire (see query.CURSOR_TTL)
            self.query_cursors: dict[str, tuple[list[dict[str, Any]], int, datetime]] = {}
            self._ids = itertools.count(1)
            self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
            self.faults.clear()
            self.integration_user = self.add_user(DEFAULT_USERNAME, "Integration User")
            # Whom the active assignment rule gives every Lead (None: no active rule).
            self.assignment_owner: str | None = (
                self.add_user(ASSIGNMENT_RULE_USER, "Lead Queue") if self.assignment_rule else None)

    # --- sessions, usage, faults -------------------------------------------------------

    def login(self, form: dict[str, str], audience: str) -> tuple[str | None, dict[str, str] | None]:
        """The token endpoint, one branch per grant type: (token, None) or (None, OAuth error).

        Salesforce Help, "OAuth 2.0 Username-Password Flow", "OAuth 2.0 JWT Bearer Flow for
        Server-to-Server Integration" and "OAuth 2.0 Client Credentials Flow": the JWT is
        RS256-signed with the key whose certificate the connected app holds, iss is the
        consumer key, sub the username, aud the login host, exp at most three minutes ahead.
        """
        grant = form.get("grant_type")
        if grant == "password" and self.password_flow:
            return self._password_login(form)
        if grant == JWT_GRANT:
            return self._jwt_login(form.get("assertion", ""), audience)
        if grant == "client_credentials":
            return self._client_credentials_login(form)
        return None, {"error": "unsupported_grant_type", "error_description": "grant type not "
                      "supported"}

    def _password_login(self, form: dict[str, str]) -> tuple[str | None, dict[str, str] | None]:
        client_id, client_secret, username, password = self.credentials
        if (form.get("client_id"), form.get("client_secret")) != (client_id, client_secret):
            return None, {"error": "invalid_client_id", "error_description": "client identifier "
                          "invalid"}
        if (form.get("username"), form.get("password")) != (username, password):
            return None, {"error": "invalid_grant", "error_description": "authentication failure"}
        return self._session(), None

    def _jwt_login(self, assertion: str, audience: str) -> tuple[str | None, dict[str, str] | None]:
        client_id, _, username, _ = self.credentials
        if not self.jwt_public_key:
            return None, {"error": "invalid_client", "error_description": "invalid client "
                          "credentials"}
        try:
            claims = pyjwt.decode(assertion, self.jwt_public_key, algorithms=["RS256"],
                                  audience=[audience, "https://login.salesforce.com",
                                            "https://test.salesforce.com"],
                                  options={"require": ["iss", "sub", "aud", "exp"]})
        except pyjwt.ExpiredSignatureError:
            return None, {"error": "invalid_grant", "error_description": "expired access/refresh"
                          " token"}
        except pyjwt.InvalidTokenError:
            return None, {"error": "invalid_grant", "error_description": "invalid assertion"}
        if claims["exp"] > time.time() + 300:
            return None, {"error": "invalid_grant", "error_description": "invalid assertion"}
        if claims["iss"] != client_id:
            return None, {"error": "invalid_client_id", "error_description": "client identifier "
                          "invalid"}
        if claims["sub"] != username:
            return None, {"error": "invalid_grant", "error_description": "user hasn't approved "
                          "this consumer"}
        return self._session(), None

    def _client_credentials_login(
        self, form: dict[str, str]
    ) -> tuple[str | None, dict[str, str] | None]:
        client_id, client_secret, _, _ = self.credentials
        if (form.get("client_id"), form.get("client_secret")) != (client_id, client_secret):
            return None, {"error": "invalid_client", "error_description": "invalid client "
                          "credentials"}
        if not self.client_credentials_user:
            return None, {"error": "invalid_grant", "error_description": "no client credentials "
                          "user enabled"}
        return self._session(), None

    def _session(self) -> str:
        with self.lock:
            token = "00D000000000001!" + secrets.token_urlsafe(24)
            self.sessions.add(token)
            self.logins += 1
            return token

    def valid_session(self, token: str) -> bool:
        with self.lock:
            return token in self.sessions

    def expire_sessions(self) -> None:
        """What an admin's 'revoke' or the session timeout does to every connected client."""
        with self.lock:
            self.sessions.clear()

    def charge(self) -> tuple[int, bool]:
        """Count one API request against the daily limit: (usage, over_limit)."""
        with self.lock:
            if self.api_usage >= self.daily_limit:
                return self.api_usage, True
            self.api_usage += 1
            return self.api_usage, False

    def count_call(self, endpoint: str) -> None:
        with self.lock:
            self.calls[endpoint] += 1

    def plant_lock_failures(self, requests: int) -> None:
        """The next `requests` DML requests fail every record with UNABLE_TO_LOCK_ROW."""
        with self.lock:
            self.lock_row_failures = requests

    def take_lock_failure(self) -> bool:
        with self.lock:
            if self.lock_row_failures <= 0:
                return False
            self.lock_row_failures -= 1
            return True

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "records": {s: len(r) for s, r in self.records.items()},
                "calls": dict(self.calls),
                "api_usage": self.api_usage,
                "daily_limit": self.daily_limit,
                "logins": self.logins,
                "sessions": len(self.sessions),
                "lock_row_failures": self.lock_row_failures,
                "faults": {"fail_next": self.faults.fail_next, "status": self.faults.status,
                           "latency_s": self.faults.latency_s},
            }

    # --- reads -----------------------------------------------------------------------

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.records.get(sobject, {}).get(record_id)
            return copy.deepcopy(record) if record else None

    def find(self, sobject: str, field: str, value: Any) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.records[sobject].values()
                    if r.get(field) == value and not r.get("IsDeleted")]

    def lead_by_key(self, key: str) -> dict[str, Any] | None:
        found = self.find("Lead", "Leadflow_Key__c", key)
        return found[0] if found else None

    def select(self, sobject: str, include_deleted: bool) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.records[sobject].values()
                    if include_deleted or not r.get("IsDeleted")]

    def select_where(self, sobject: str, include_deleted: bool,
                     run: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Copies of the rows `run` keeps from `select`: a query copies what it answers, not
        the whole object (`run` must only filter and order, never change a record)."""
        with self.lock:
            live = [r for r in self.records[sobject].values() if include_deleted or not r.get("IsDeleted")]
            return [copy.deepcopy(r) for r in run(live)]

    # --- DML -------------------------------------------------------------------------

    def insert(
        self, sobject: str, values: dict[str, Any], *, save: Save = Save()
    ) -> tuple[str | None, list[dict[str, Any]]]:
        values = _strip(values)
        with self.lock:
            errors = self._check(sobject, values, None) or self._duplicates(
                sobject, values, None, save.allow_save)
            if errors:
                return None, errors
            now = self._stamp()
            record_id = f"{PREFIX[sobject]}{next(self._ids):012d}AAA"
            record = {"Id": record_id, "CreatedDate": now, "IsDeleted": False}
            if sobject == "Lead":
                record |= {"IsConverted": False, "Status": self.statuses[0],
                           "OwnerId": self.integration_user}
            record |= values
            self._assign(sobject, record, save)
            self._touch(sobject, record, now)
            self.records[sobject][record_id] = record
            return record_id, []

    def update(
        self, sobject: str, record_id: str, values: dict[str, Any], *, save: Save = Save()
    ) -> list[dict[str, Any]]:
        values = _strip(values)
        values.pop("Id", None)
        with self.lock:
            record = self.records[sobject].get(record_id)
            if record is None:
                return [error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
            if record.get("IsDeleted"):
                return [error("ENTITY_IS_DELETED", "entity is deleted")]
            if record.get("IsConverted"):
                return [error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")]
            # An edit runs the duplicate rule only when it changes a field the matching rule
            # compares (Salesforce Help, knowledge article 005237351, "Duplicate Record Sets
            # Are Not Created for Records Matching Duplicate Rule Criteria").
            rematch = values.get("Email", record.get("Email")) != record.get("Email")
            errors = self._check(sobject, values, record_id) or (self._duplicates(
                sobject, record | values, record_id, save.allow_save) if rematch else [])
            if not errors:
                record.update(values)
                self._assign(sobject, record, save)
                self._touch(sobject, record, self._stamp())
            return errors

    def upsert(
        self, sobject: str, field: str, value: str, values: dict[str, Any], *,
        save: Save = Save(),
    ) -> tuple[str | None, bool, list[dict[str, Any]], list[str]]:
        """(id, created, errors, matching ids when several records share the key)."""
        values = _strip(values) | {field: value}
        with self.lock:
            matches = self.find(sobject, field, value)
            if len(matches) > 1:
                return None, False, [], [m["Id"] for m in matches]
            if not matches:
                record_id, errors = self.insert(sobject, values, save=save)
                return record_id, record_id is not None, errors, []
            record_id = matches[0]["Id"]
            return record_id, False, self.update(sobject, record_id, values, save=save), []

    def delete(self, sobject: str, record_id: str) -> list[dict[str, Any]]:
        with self.lock:
            record = self.records[sobject].get(record_id)
            if record is None:
                return [error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
            if record.get("IsDeleted"):
                return [error("ENTITY_IS_DELETED", "entity is deleted")]
            record["IsDeleted"] = True
            self._touch(sobject, record, self._stamp())
            return []

    def snapshot(self) -> tuple[Any, ...]:
        with self.lock:
            return copy.deepcopy(self.records), self._last_stamp

    def restore(self, snap: tuple[Any, ...]) -> None:
        """Roll back an allOrNone request that had a failing record."""
        with self.lock:
            self.records, self._last_stamp = copy.deepcopy(snap[0]), snap[1]

    # --- what people do in the Salesforce UI (tests and later reconcile work use these) ---

    def add_user(self, email: str, name: str, *, active: bool = True) -> str:
        with self.lock:
            first, _, last = name.rpartition(" ")
            user_id = f"005{next(self._ids):012d}AAA"
            self.records["User"][user_id] = {
                "Id": user_id, "Username": email, "Email": email, "FirstName": first,
                "LastName": last, "Name": name, "IsActive": active, "IsDeleted": False,
                "SystemModstamp": self._stamp(),
            }
            return user_id

    def rep_set_status(self, lead_id: str, status: str, **fields: Any) -> None:
        """A rep edits the lead in the UI: no validation beyond existence, modstamp moves."""
        with self.lock:
            record = self.records["Lead"][lead_id]
            record.update(fields, Status=status)
            self._touch("Lead", record, self._stamp())

    def age_query_cursors(self, by: timedelta) -> None:
        """Time passes for every open query cursor (they expire two days after they open)."""
        with self.lock:
            self.query_cursors = {k: (rows, size, opened - by)
                                  for k, (rows, size, opened) in self.query_cursors.items()}

    def convert_lead(self, lead_id: str, account_id: str | None = None) -> str:
        """Lead conversion: the lead becomes read-only and points at a new Contact and at the
        Account it converted into (`account_id`, or a new one named after its Company), as
        convertLead() does (SOAP API Developer Guide, convertLead(): "If no accountId is
        specified, then the API creates a new account")."""
        with self.lock:
            record = self.records["Lead"][lead_id]
            contact_id = f"003{next(self._ids):012d}AAA"
            now = self._stamp()
            if account_id is None:
                account_id = f"001{next(self._ids):012d}AAA"
                self.records["Account"][account_id] = {
                    "Id": account_id, "Name": record.get("Company") or record.get("LastName"),
                    "OwnerId": record.get("OwnerId"), "IsDeleted": False, "CreatedDate": now}
                self._touch("Account", self.records["Account"][account_id], now)
            record["ConvertedAccountId"] = account_id
            self.records["Contact"][contact_id] = {
                "Id": contact_id, "Email": record.get("Email"), "LastName": record.get("LastName"),
                "OwnerId": record.get("OwnerId"), "IsDeleted": False, "SystemModstamp": now}
            record.update(IsConverted=True, ConvertedDate=now.date().isoformat(),
                          ConvertedContactId=contact_id, Status="Closed - Converted")
            self._touch("Lead", record, now)
            return contact_id

    def merge_leads(self, master_id: str, duplicate_id: str) -> None:
        """Merge: the duplicate goes to the recycle bin with MasterRecordId set."""
        with self.lock:
            now = self._stamp()
            dup = self.records["Lead"][duplicate_id]
            dup.update(IsDeleted=True, MasterRecordId=master_id)
            self._touch("Lead", dup, now)
            self._touch("Lead", self.records["Lead"][master_id], now)

    # --- internals -------------------------------------------------------------------

    def _check(
        self, sobject: str, values: dict[str, Any], record_id: str | None
    ) -> list[dict[str, Any]]:
        errors = schema.validate(sobject, values, custom=self.custom_fields,
                                 insert=record_id is None, statuses=self.statuses)
        owner = values.get("OwnerId")
        if owner and not errors:
            user = self.records["User"].get(owner)
            if user is None:
                errors.append(error("INVALID_CROSS_REFERENCE_KEY",
                                    "Owner ID: id value of incorrect type: " + owner, ["OwnerId"]))
            elif not user["IsActive"]:
                errors.append(error("INACTIVE_OWNER_OR_USER", "owner or user is inactive.",
                                    ["OwnerId"]))
        who = values.get("WhoId")
        if sobject == "Task" and who and not errors:
            # A Task's WhoId names a live Lead or Contact; a converted Lead is read-only
            # ("cannot reference converted lead"): tasks go on the Contact it became.
            target = self.records["Lead" if who.startswith("00Q") else "Contact"].get(who)
            if target is None or target.get("IsDeleted"):
                errors.append(error("INVALID_CROSS_REFERENCE_KEY", "Name ID: id value of "
                                    f"incorrect type: {who}", ["WhoId"]))
            elif target.get("IsConverted"):
                errors.append(error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted "
                                    "lead", ["WhoId"]))
        key = values.get("Leadflow_Key__c")
        if key and not errors:
            clash = [r["Id"] for r in self.find(sobject, "Leadflow_Key__c", key)
                     if r["Id"] != record_id]
            if clash:
                errors.append(error("DUPLICATE_VALUE", "duplicate value found: Leadflow_Key__c "
                                    f"duplicates value on record with id: {clash[0]}",
                                    ["Leadflow_Key__c"]))
        return errors

    def _assign(self, sobject: str, record: dict[str, Any], save: Save) -> None:
        """The active Lead assignment rule overwrites OwnerId on every API create and update
        that does not send `Sforce-Auto-Assign: FALSE` (REST API Developer Guide, "Assignment
        Rule Header": "If the header is not provided in the request, the default value is
        TRUE"). The emulated rule has one entry that matches every Lead."""
        if sobject == "Lead" and save.auto_assign and self.assignment_owner:
            record["OwnerId"] = self.assignment_owner

    def _duplicates(
        self, sobject: str, values: dict[str, Any], record_id: str | None, allow_save: bool
    ) -> list[dict[str, Any]]:
        """The standard Lead duplicate rule, as an org ships it.

        Salesforce Help, "Standard Duplicate Rules": the Lead rule uses the Standard Lead
        Matching Rule (an exact Email match is enough) and its action on create and on edit is
        "Allow" with "Alert". REST API Developer Guide, "Duplicate Rule Header"
        (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_duplicaterules.htm):
        rules run when a record is created, updated or upserted, and an alert blocks an API
        save unless the request sends `Sforce-Duplicate-Rule-Header: allowSave=true` (every
        field of the header defaults to false).
        Converted Leads are still Leads and still match; the record being saved never matches
        itself. The error carries `duplicateResult` with the matching ids, as the API does.
        """
        email = (values.get("Email") or "").lower()
        if not (self.duplicate_rule and sobject == "Lead" and email) or allow_save:
            return []
        matches = [r["Id"] for r in self.records["Lead"].values()
                   if (r.get("Email") or "").lower() == email and not r.get("IsDeleted")
                   and r["Id"] != record_id]
        if not matches:
            return []
        found = error("DUPLICATES_DETECTED", "Use one of these records?")
        found["duplicateResult"] = {
            "allowSave": True, "duplicateRule": "Standard_Rule_for_Leads_with_Duplicate_Leads",
            "duplicateRuleEntityType": "Lead",
            "errorMessage": "You're creating a duplicate record. We recommend you use an "
                            "existing record instead.",
            "matchResults": [{"entityType": "Lead", "matchEngine": "ExactMatchEngine",
                              "rule": "Standard_Lead_Match_Rule_v1_0", "size": len(matches),
                              "success": True, "errors": [],
                              "matchRecords": [{"matchConfidence": 100.0, "record": {
                                  "attributes": {"type": "Lead"}, "Id": m}} for m in matches]}],
        }
        return [found]

    def _stamp(self) -> datetime:
        """Millisecond timestamps that never go back. Several writes in one millisecond share a
        stamp, as in a real org: forcing them apart ran the clock ahead of the wall clock under
        bursts, and a window ending "now" then missed records stamped in the future."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._last_stamp = max(now, self._last_stamp)
        return self._last_stamp

    def _touch(self, sobject: str, record: dict[str, Any], now: datetime) -> None:
        record["LastModifiedDate"] = record["SystemModstamp"] = now
        if sobject in ("Lead", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName"))
                                      if p)


def _strip(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "attributes"}
