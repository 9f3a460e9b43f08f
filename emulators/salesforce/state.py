"""In-memory Salesforce org: records, sessions, API usage, call counts and planted faults.

Every public method takes the lock: uvicorn serves requests on its own thread while tests
read and change the same object from theirs.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from emulators.common import Faults
from emulators.salesforce import schema
from emulators.salesforce.schema import error

PREFIX = {"Lead": "00Q", "Task": "00T", "User": "005", "Contact": "003"}
DEFAULT_CLIENT_ID = "leadflow-local-client"
DEFAULT_CLIENT_SECRET = "leadflow-local-secret"
DEFAULT_USERNAME = "integration@leadflow.local"
DEFAULT_PASSWORD = "local-password"
DEFAULT_SECURITY_TOKEN = "localtoken"


class SalesforceState:
    def __init__(
        self,
        *,
        custom_fields: bool | str = True,
        daily_limit: int = 15_000,
        query_batch_size: int = 2000,
        statuses: tuple[str, ...] = schema.DEFAULT_STATUSES,
        duplicate_rule: bool = True,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        security_token: str = DEFAULT_SECURITY_TOKEN,
    ) -> None:
        self.lock = threading.RLock()
        self.custom_fields = custom_fields
        self.daily_limit = daily_limit
        self.query_batch_size = query_batch_size
        self.statuses = statuses
        self.duplicate_rule = duplicate_rule
        self.credentials = (client_id, client_secret, username, password + security_token)
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
            # locator -> (rows already rendered, batch size), like Salesforce's server cursors
            self.query_cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
            self._ids = itertools.count(1)
            self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
            self.faults.clear()
            self.integration_user = self.add_user(DEFAULT_USERNAME, "Integration User")

    # --- sessions, usage, faults -------------------------------------------------------

    def login(self, form: dict[str, str]) -> tuple[str | None, dict[str, str] | None]:
        """OAuth password grant: (token, None) or (None, OAuth error body)."""
        client_id, client_secret, username, password = self.credentials
        if form.get("grant_type") != "password":
            return None, {"error": "unsupported_grant_type", "error_description": "grant type "
                          "not supported"}
        if (form.get("client_id"), form.get("client_secret")) != (client_id, client_secret):
            return None, {"error": "invalid_client_id", "error_description": "client identifier "
                          "invalid"}
        if (form.get("username"), form.get("password")) != (username, password):
            return None, {"error": "invalid_grant", "error_description": "authentication failure"}
        with self.lock:
            token = "00D000000000001!" + secrets.token_urlsafe(24)
            self.sessions.add(token)
            self.logins += 1
            return token, None

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

    # --- DML -------------------------------------------------------------------------

    def insert(
        self, sobject: str, values: dict[str, Any], *, duplicate_check: bool = False
    ) -> tuple[str | None, list[dict[str, Any]]]:
        values = _strip(values)
        with self.lock:
            errors = self._check(sobject, values, None)
            if not errors and duplicate_check and self._duplicate_email(sobject, values):
                errors = [error("DUPLICATES_DETECTED", "Use one of these records?")]
            if errors:
                return None, errors
            now = self._stamp()
            record_id = f"{PREFIX[sobject]}{next(self._ids):012d}AAA"
            record = {"Id": record_id, "CreatedDate": now, "IsDeleted": False}
            if sobject == "Lead":
                record |= {"IsConverted": False, "Status": self.statuses[0],
                           "OwnerId": self.integration_user}
            record |= values
            self._touch(sobject, record, now)
            self.records[sobject][record_id] = record
            return record_id, []

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> list[dict[str, Any]]:
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
            errors = self._check(sobject, values, record_id)
            if not errors:
                record.update(values)
                self._touch(sobject, record, self._stamp())
            return errors

    def upsert(
        self, sobject: str, field: str, value: str, values: dict[str, Any]
    ) -> tuple[str | None, bool, list[dict[str, Any]], list[str]]:
        """(id, created, errors, matching ids when several records share the key)."""
        values = _strip(values) | {field: value}
        with self.lock:
            matches = self.find(sobject, field, value)
            if len(matches) > 1:
                return None, False, [], [m["Id"] for m in matches]
            if not matches:
                record_id, errors = self.insert(sobject, values)
                return record_id, record_id is not None, errors, []
            record_id = matches[0]["Id"]
            return record_id, False, self.update(sobject, record_id, values), []

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

    def convert_lead(self, lead_id: str) -> str:
        """Lead conversion: the lead becomes read-only and points at a new Contact."""
        with self.lock:
            record = self.records["Lead"][lead_id]
            contact_id = f"003{next(self._ids):012d}AAA"
            now = self._stamp()
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
        key = values.get("Leadflow_Key__c")
        if key and not errors:
            clash = [r["Id"] for r in self.find(sobject, "Leadflow_Key__c", key)
                     if r["Id"] != record_id]
            if clash:
                errors.append(error("DUPLICATE_VALUE", "duplicate value found: Leadflow_Key__c "
                                    f"duplicates value on record with id: {clash[0]}",
                                    ["Leadflow_Key__c"]))
        return errors

    def _duplicate_email(self, sobject: str, values: dict[str, Any]) -> bool:
        email = (values.get("Email") or "").lower()
        return bool(
            self.duplicate_rule and sobject == "Lead" and email
            and any((r.get("Email") or "").lower() == email and not r.get("IsDeleted")
                    for r in self.records["Lead"].values())
        )

    def _stamp(self) -> datetime:
        """Millisecond timestamps that never repeat, so SystemModstamp windows are exact."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._last_stamp = max(now, self._last_stamp + timedelta(milliseconds=1))
        return self._last_stamp

    def _touch(self, sobject: str, record: dict[str, Any], now: datetime) -> None:
        record["LastModifiedDate"] = record["SystemModstamp"] = now
        if sobject in ("Lead", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName"))
                                      if p)


def _strip(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "attributes"}
