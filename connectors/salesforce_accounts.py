"""Accounts in Salesforce: the Account a lead's account is, and a Lead's own association with one.

An account is written with an sObject Collections upsert on the external id
`Leadflow_Account_Key__c` (the account's domain): `PATCH /composite/sobjects/Account/
Leadflow_Account_Key__c`, up to 200 records a request, `allOrNone` false, one UpsertResult per
record in request order (REST API Developer Guide, "Upsert Records Using sObject Collections").
`Name` is required on insert only, so a new Account is named after its domain and a name a person
typed is never overwritten (it is sent only when the upsert creates).

A Lead's association: `ConvertedAccountId` ("the ID of the account created in the lead
conversion", Change Data Capture Developer Guide, "Change Events for Lead Conversion"), read by
SOQL on the Lead's key, then the Account's key or Website; `account_domains_of` does it for up
to 200 leads in two queries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.base import AccountSnapshot, SyncResult

ACCOUNT_KEY_FIELD = "Leadflow_Account_Key__c"
UPSERT_ACCOUNTS_PATH = f"composite/sobjects/Account/{ACCOUNT_KEY_FIELD}"
COLLECTION_LIMIT = 200
# (name, label, metadata type, length): what the deployment adds to Account.
ACCOUNT_FIELDS = (
    (ACCOUNT_KEY_FIELD, "Leadflow Account Key", "Text", 255),
    ("Account_Stage__c", "Account Stage", "Text", 80),
    ("Furthest_Lead_Stage__c", "Furthest Lead Stage", "Text", 80),
    ("Active_Evaluation__c", "Active Evaluation", "Checkbox", None),
    ("Demo_Completed__c", "Demo Completed", "Checkbox", None),
    ("Leadflow_Leads__c", "Leadflow Leads", "Number", None),
)

Call = Callable[[Callable[[Any], Any]], Any]  # runs fn(simple_salesforce.Salesforce) with retries


def account_record(account: AccountSnapshot) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Account"}, ACCOUNT_KEY_FIELD: account.domain,
        "Website": account.domain, "Account_Stage__c": account.stage,
        "Furthest_Lead_Stage__c": account.furthest_stage,
        "Active_Evaluation__c": account.active_evaluation,
        "Demo_Completed__c": account.demo_completed, "Leadflow_Leads__c": account.leads}
    if account.owner_id:
        record["OwnerId"] = account.owner_id
    return record


def upsert_accounts(call: Call, accounts: list[AccountSnapshot], timeout_s: float,
                    soql_string: Callable[[str], str]) -> list[SyncResult]:
    latest = {a.domain: a for a in accounts}  # an external id once per request
    results: dict[str, SyncResult] = {}
    domains = list(latest)
    for start in range(0, len(domains), COLLECTION_LIMIT):
        chunk = domains[start:start + COLLECTION_LIMIT]
        known = _existing(call, chunk, soql_string)
        records = []
        for d in chunk:
            record = account_record(latest[d])
            if d not in known:
                record["Name"] = d  # required on insert; a person's name for it is kept
            records.append(record)
        body = {"allOrNone": False, "records": records}
        answer = call(lambda sf, body=body: sf.restful(UPSERT_ACCOUNTS_PATH, method="PATCH",
                                                       json=body, timeout=timeout_s))
        for d, res in zip(chunk, answer, strict=True):
            error = (res.get("errors") or [{}])[0]
            results[d] = SyncResult(email=d, ok=True, record_id=res["id"]) if res.get("success") \
                else SyncResult(email=d, ok=False, vendor_code=error.get("statusCode"),
                                message=f"Account {d}: {error.get('message')}",
                                retryable=error.get("statusCode") == "UNABLE_TO_LOCK_ROW")
    return [results[a.domain] for a in accounts]


def _existing(call: Call, domains: list[str], soql_string: Callable[[str], str]) -> set[str]:
    listed = ", ".join(soql_string(d) for d in domains)
    rows = call(lambda sf: sf.query_all(
        f"SELECT {ACCOUNT_KEY_FIELD} FROM Account WHERE {ACCOUNT_KEY_FIELD} IN ({listed})"))
    return {str(r[ACCOUNT_KEY_FIELD]).lower() for r in rows.get("records", [])}


def account_domain_of(call: Call, email: str, lead_key_field: str,
                      soql_string: Callable[[str], str]) -> str | None:
    """The domain of the Account this email's Lead converted into (None: none)."""
    leads = call(lambda sf: sf.query(
        f"SELECT ConvertedAccountId FROM Lead WHERE {lead_key_field} = "
        f"{soql_string(email.strip().lower())} LIMIT 1"))
    rows = leads.get("records") or []
    account_id = rows[0].get("ConvertedAccountId") if rows else None
    if not account_id:
        return None
    found = call(lambda sf: sf.query(
        f"SELECT {ACCOUNT_KEY_FIELD}, Website FROM Account WHERE Id = {soql_string(account_id)}"))
    accounts = found.get("records") or []
    if not accounts:
        return None
    return accounts[0].get(ACCOUNT_KEY_FIELD) or accounts[0].get("Website") or None


def account_domains_of(call: Call, emails: list[str], lead_key_field: str,
                       soql_string: Callable[[str], str]) -> list[str | None]:
    """account_domain_of for many emails: one SOQL query per 200 Leads, one for their Accounts."""
    keys = list(dict.fromkeys(e.strip().lower() for e in emails))
    converted: dict[str, str] = {}
    for start in range(0, len(keys), COLLECTION_LIMIT):
        listed = ", ".join(soql_string(k) for k in keys[start:start + COLLECTION_LIMIT])
        rows = call(lambda sf, listed=listed: sf.query_all(
            f"SELECT {lead_key_field}, ConvertedAccountId FROM Lead "
            f"WHERE {lead_key_field} IN ({listed})")).get("records") or []
        converted |= {str(r[lead_key_field]).lower(): r["ConvertedAccountId"] for r in rows
                      if r.get("ConvertedAccountId")}
    domains: dict[str, str | None] = {}
    ids = sorted(set(converted.values()))
    for start in range(0, len(ids), COLLECTION_LIMIT):
        listed = ", ".join(soql_string(i) for i in ids[start:start + COLLECTION_LIMIT])
        rows = call(lambda sf, listed=listed: sf.query_all(
            f"SELECT Id, {ACCOUNT_KEY_FIELD}, Website FROM Account WHERE Id IN ({listed})"))
        domains |= {r["Id"]: r.get(ACCOUNT_KEY_FIELD) or r.get("Website") or None
                    for r in rows.get("records") or []}
    return [domains.get(converted.get(e.strip().lower(), "")) for e in emails]
