"""The Lead, Account, Task and User shapes the emulator knows, their describe payloads and field validation.

Error dicts use the sObject Collections shape ({statusCode, message, fields}); the app turns
them into the single-record shape ({errorCode, message, fields}) where Salesforce does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

API_VERSION = "59.0"

DEFAULT_STATUSES = (
    "New",
    "Working",
    "Nurturing",
    "Qualified",
    "Unqualified",
    "Closed - Converted",
    "Closed - Not Converted",
)


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # id, string, email, picklist, double, date, datetime, boolean, reference, textarea
    label: str
    length: int = 0
    required: bool = False  # on insert
    writable: bool = True
    external_id: bool = False
    unique: bool = False
    custom: bool = False


_STANDARD_LEAD = (
    Field("Id", "id", "Lead ID", 18, writable=False),
    Field("FirstName", "string", "First Name", 40),
    Field("LastName", "string", "Last Name", 80, required=True),
    Field("Name", "string", "Full Name", 121, writable=False),
    Field("Company", "string", "Company", 255, required=True),
    Field("Email", "email", "Email", 80),
    Field("Phone", "string", "Phone", 40),
    Field("Title", "string", "Title", 128),
    Field("Website", "string", "Website", 255),
    Field("Industry", "string", "Industry", 255),
    Field("Country", "string", "Country", 80),
    Field("City", "string", "City", 40),
    Field("State", "string", "State/Province", 80),
    # Object Reference for Lead: NumberOfEmployees, type int ("Employees").
    Field("NumberOfEmployees", "int", "Employees"),
    Field("LeadSource", "string", "Lead Source", 255),
    Field("Status", "picklist", "Lead Status", 255),
    Field("OwnerId", "reference", "Owner ID", 18),
    Field("IsConverted", "boolean", "Converted", writable=False),
    Field("ConvertedDate", "date", "Converted Date", writable=False),
    Field("ConvertedContactId", "reference", "Converted Contact ID", 18, writable=False),
    # Object Reference, Lead: "ConvertedAccountId: Reference. Object reference ID that points to
    # the account into which the lead converted" (read-only, set by convertLead()).
    Field("ConvertedAccountId", "reference", "Converted Account ID", 18, writable=False),
    Field("IsDeleted", "boolean", "Deleted", writable=False),
    Field("MasterRecordId", "reference", "Master Record ID", 18, writable=False),
    Field("CreatedDate", "datetime", "Created Date", writable=False),
    Field("LastModifiedDate", "datetime", "Last Modified Date", writable=False),
    Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
)

# What the leadflow deployment adds (connectors.salesforce.metadata_xml writes the same set).
CUSTOM_LEAD = (
    Field(
        "Leadflow_Key__c", "string", "Leadflow Key", 255, external_id=True, unique=True, custom=True
    ),
    Field("Lead_Stage__c", "string", "Lead Stage", 80, custom=True),
    Field("Lead_Score__c", "double", "Lead Score", custom=True),
    Field("Disqualification_Reason__c", "string", "Disqualification Reason", 255, custom=True),
    Field("Loss_Reason__c", "string", "Loss Reason", 255, custom=True),
    Field("Follow_Up_Date__c", "date", "Follow-Up Date", custom=True),
    # Issue 19. Custom fields carry the __c suffix in their API name (Metadata API Developer
    # Guide, "Metadata": fullName); Text fields have a length.
    Field("Fit_Grade__c", "string", "Fit Grade", 1, custom=True),
    Field("ICP_Status__c", "string", "ICP Status", 20, custom=True),
    Field("Role__c", "string", "Role", 80, custom=True),
    Field("Use_Case__c", "string", "Use Case", 255, custom=True),
    Field("Timeline__c", "string", "Timeline", 80, custom=True),
    Field("Stakeholders__c", "string", "Stakeholders", 255, custom=True),
    Field("Budget__c", "string", "Budget", 80, custom=True),
    Field("Nurture_Path__c", "string", "Nurture Path", 80, custom=True),
    Field("Snooze_Reason__c", "string", "Snooze Reason", 255, custom=True),
)

# Object Reference, Account: Name is required on insert; Website, Industry, NumberOfEmployees
# and OwnerId are standard fields.
_STANDARD_ACCOUNT = (
    Field("Id", "id", "Account ID", 18, writable=False),
    Field("Name", "string", "Account Name", 255, required=True),
    Field("Website", "string", "Website", 255),
    Field("Industry", "string", "Industry", 255),
    Field("NumberOfEmployees", "double", "Employees"),
    Field("OwnerId", "reference", "Owner ID", 18),
    Field("IsDeleted", "boolean", "Deleted", writable=False),
    Field("CreatedDate", "datetime", "Created Date", writable=False),
    Field("LastModifiedDate", "datetime", "Last Modified Date", writable=False),
    Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
)

# What the leadflow deployment adds to Account (connectors.salesforce_accounts lists the same set).
CUSTOM_ACCOUNT = (
    Field("Leadflow_Account_Key__c", "string", "Leadflow Account Key", 255, external_id=True,
          unique=True, custom=True),
    Field("Account_Stage__c", "string", "Account Stage", 80, custom=True),
    Field("Furthest_Lead_Stage__c", "string", "Furthest Lead Stage", 80, custom=True),
    Field("Active_Evaluation__c", "boolean", "Active Evaluation", custom=True),
    Field("Demo_Completed__c", "boolean", "Demo Completed", custom=True),
    Field("Leadflow_Leads__c", "double", "Leadflow Leads", custom=True),
)

TASK_FIELDS = (
    Field("Id", "id", "Activity ID", 18, writable=False),
    Field("WhoId", "reference", "Name ID", 18),
    Field("WhatId", "reference", "Related To ID", 18),
    Field("OwnerId", "reference", "Assigned To ID", 18),
    Field("Subject", "string", "Subject", 255),
    Field("Description", "textarea", "Description", 32000),
    Field("ActivityDate", "date", "Due Date Only"),
    Field("IsDeleted", "boolean", "Deleted", writable=False),
    Field("Status", "string", "Status", 40),
    Field("Priority", "string", "Priority", 40),
    Field("CreatedDate", "datetime", "Created Date", writable=False),
    Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
)

USER_FIELDS = (
    Field("Id", "id", "User ID", 18, writable=False),
    Field("Username", "string", "Username", 80),
    Field("Email", "email", "Email", 128),
    Field("FirstName", "string", "First Name", 40),
    Field("LastName", "string", "Last Name", 80),
    Field("Name", "string", "Full Name", 121, writable=False),
    Field("IsActive", "boolean", "Active"),
    Field("IsDeleted", "boolean", "Deleted", writable=False),
    Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Salesforce Help, "Custom Field Types" (Email): "a valid email address in the form
# jsmith@acme.com"; the standard Lead.Email holds at most 80 characters (Object Reference, Lead).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def lead_fields(custom: bool) -> dict[str, Field]:
    fields = _STANDARD_LEAD + (CUSTOM_LEAD if custom else ())
    return {f.name: f for f in fields}


CUSTOM_TASK = (Field("Leadflow_Task_Key__c", "string", "Leadflow Task Key", 255, custom=True),)


def fields_for(sobject: str, custom: bool | str) -> dict[str, Field]:
    """`custom`: True (all of leadflow's fields deployed), False (none) or "Lead" (an org that
    deployed the Lead fields before the Task key existed)."""
    if sobject == "Lead":
        return lead_fields(bool(custom))
    if sobject == "Account":
        return {f.name: f for f in _STANDARD_ACCOUNT + (CUSTOM_ACCOUNT if custom is True else ())}
    task = TASK_FIELDS + (CUSTOM_TASK if custom is True else ())
    table = {"Task": task, "User": USER_FIELDS}[sobject]
    return {f.name: f for f in table}


def error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields or []}


def unknown_field(sobject: str, values: dict[str, Any], custom: bool | str) -> str | None:
    """The first field Salesforce would refuse to deserialize (a whole-request INVALID_FIELD)."""
    known = fields_for(sobject, custom)
    for name in values:
        if name != "attributes" and name not in known:
            return name
    return None


def validate(
    sobject: str, values: dict[str, Any], *, custom: bool | str, insert: bool, statuses: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Per-record validation errors, in the order Salesforce reports them."""
    known = fields_for(sobject, custom)
    errors: list[dict[str, Any]] = []
    for name, value in values.items():
        spec = known.get(name)
        if spec is None or name == "attributes":
            continue
        if not spec.writable:
            errors.append(error("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update "
                                f"fields: {name}. Please check the security settings of this "
                                "field and verify that it is read/write for your profile.", [name]))
        elif value is not None and (msg := _type_error(spec, value)):
            errors.append(error("INVALID_TYPE_ON_FIELD_IN_RECORD", msg, [name]))
        elif (spec.type in ("string", "email") and isinstance(value, str) and spec.length
              and len(value) > spec.length):
            errors.append(error("STRING_TOO_LONG", f"{spec.label}: data value too large: "
                                f"{value[:40]} (max length={spec.length})", [name]))
        elif spec.type == "email" and value and not _EMAIL.match(str(value)):
            errors.append(error("INVALID_EMAIL_ADDRESS", f"{spec.label}: invalid email "
                                f"address: {value}", [name]))
    if sobject == "Lead" and "Status" in values and values["Status"] not in statuses:
        errors.append(error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            f"Lead Status: bad value for restricted picklist field: "
                            f"{values['Status']}", ["Status"]))
    missing = [f.name for f in known.values() if f.required and _blank(values, f.name, insert)]
    if missing:
        errors.append(error("REQUIRED_FIELD_MISSING",
                            f"Required fields are missing: [{', '.join(missing)}]", missing))
    return errors


def _blank(values: dict[str, Any], name: str, insert: bool) -> bool:
    if name not in values:
        return insert
    return values[name] in (None, "")


def _type_error(spec: Field, value: Any) -> str | None:
    if spec.type == "double" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"{spec.label}: value not of required type: {value}"
    if spec.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{spec.label}: value not of required type: {value}"
    if spec.type == "date" and not (isinstance(value, str) and _DATE.match(value)):
        return f"{spec.label}: value not of required type: {value}"
    if spec.type in ("string", "email", "textarea", "reference") and not isinstance(value, str):
        return f"{spec.label}: value not of required type: {value}"
    return None


def describe(sobject: str, custom: bool | str, statuses: tuple[str, ...]) -> dict[str, Any]:
    """The subset of a describe payload clients read: names, types, picklists, flags."""
    return {
        "name": sobject,
        "label": sobject,
        "custom": False,
        "createable": sobject != "User",
        "updateable": True,
        "queryable": True,
        "fields": [_describe_field(f, statuses) for f in fields_for(sobject, custom).values()],
        "urls": {"sobject": f"/services/data/v{API_VERSION}/sobjects/{sobject}"},
    }


def _describe_field(f: Field, statuses: tuple[str, ...]) -> dict[str, Any]:
    picklist = [
        {"value": s, "label": s, "active": True, "defaultValue": i == 0}
        for i, s in enumerate(statuses)
    ] if f.type == "picklist" else []
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "length": f.length,
        "custom": f.custom,
        "externalId": f.external_id,
        "unique": f.unique,
        "nillable": not f.required and f.writable,
        "createable": f.writable,
        "updateable": f.writable,
        "picklistValues": picklist,
        "restrictedPicklist": f.type == "picklist",
    }
