"""Property definitions the emulated portal starts with, and HubSpot's rules for property values.

HubSpot rejects a write naming an unknown property or an enumeration value outside the
property's options; these checks return its error details (`PROPERTY_DOESNT_EXIST`,
`INVALID_OPTION`, ...) so the emulator can answer with the real 400 body.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

LIFECYCLE_STAGES = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]
LEAD_STATUSES = [
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
]
READ_ONLY = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_object_id",
             "hs_createdate", "hs_merged_object_ids"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _options(values: list[str]) -> list[dict]:
    return [
        {"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


def definition(name: str, type_: str, field_type: str, group: str, **extra: object) -> dict:
    """A property in the shape GET /crm/v3/properties/{objectType}/{name} returns."""
    now = "2020-01-01T00:00:00Z"
    return {
        "name": name,
        "label": extra.pop("label", name.replace("_", " ").title()),
        "type": type_,
        "fieldType": field_type,
        "groupName": group,
        "description": extra.pop("description", ""),
        "options": extra.pop("options", []),
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": extra.pop("hasUniqueValue", False),
        "hidden": False,
        "hubspotDefined": extra.pop("hubspotDefined", True),
        "formField": True,
        "createdAt": now,
        "updatedAt": now,
        "archived": False,
        "modificationMetadata": {
            "archivable": not name.startswith("hs_"),
            "readOnlyDefinition": True,
            "readOnlyValue": name in READ_ONLY,
        },
        **extra,
    }


def _std(group: str, names: list[tuple[str, str, str]]) -> dict[str, dict]:
    return {n: definition(n, t, f, group) for n, t, f in names}


def seed_properties(lifecycle_stages: list[str] | None = None) -> dict[str, dict[str, dict]]:
    """HubSpot's standard properties leadflow touches, per object type (custom ones are absent).

    `lifecycle_stages`: the portal's lifecycle stages in display order. Portals can add,
    rename and remove stages (HubSpot Knowledge Base, "Create and customize lifecycle stages");
    the property's options and their displayOrder are the only truth about them."""
    common = [("hs_object_id", "number", "number"), ("hubspot_owner_id", "enumeration", "select")]
    contacts = _std("contactinformation", common + [
        ("email", "string", "text"), ("firstname", "string", "text"),
        ("lastname", "string", "text"), ("company", "string", "text"),
        ("phone", "string", "phonenumber"), ("jobtitle", "string", "text"),
        ("createdate", "datetime", "date"), ("lastmodifieddate", "datetime", "date"),
        ("hs_lastmodifieddate", "datetime", "date"),
        ("hs_merged_object_ids", "enumeration", "checkbox"),
        # Default contact properties a playbook's `fields:` names (HubSpot Knowledge Base,
        # "HubSpot's default contact properties": Website URL, City, State/Region,
        # Country/Region, Industry are single-line text).
        ("website", "string", "text"), ("city", "string", "text"), ("state", "string", "text"),
        ("country", "string", "text"), ("industry", "string", "text"),
    ])
    contacts["email"]["hasUniqueValue"] = True
    contacts["lifecyclestage"] = definition(
        "lifecyclestage", "enumeration", "radio", "contactinformation",
        options=_options(lifecycle_stages or LIFECYCLE_STAGES), label="Lifecycle Stage")
    contacts["hs_lead_status"] = definition(
        "hs_lead_status", "enumeration", "radio", "sales_properties",
        options=_options(LEAD_STATUSES), label="Lead Status")
    companies = _std("companyinformation", common + [
        ("name", "string", "text"), ("domain", "string", "text"),
        ("createdate", "datetime", "date"), ("hs_lastmodifieddate", "datetime", "date"),
    ])
    companies["lifecyclestage"] = dict(contacts["lifecyclestage"], groupName="companyinformation")
    tasks = _std("task", common + [
        ("hs_timestamp", "datetime", "date"), ("hs_task_subject", "string", "text"),
        ("hs_task_body", "string", "html"), ("hs_createdate", "datetime", "date"),
        ("hs_lastmodifieddate", "datetime", "date"),
    ])
    tasks["hs_task_status"] = definition(
        "hs_task_status", "enumeration", "select", "task",
        options=_options(["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"]))
    tasks["hs_task_priority"] = definition(
        "hs_task_priority", "enumeration", "select", "task",
        options=_options(["NONE", "LOW", "MEDIUM", "HIGH"]))
    tasks["hs_task_type"] = definition(
        "hs_task_type", "enumeration", "select", "task",
        options=_options(["CALL", "EMAIL", "TODO"]))
    return {"contacts": contacts, "companies": companies, "tasks": tasks}


def seed_groups() -> dict[str, dict[str, dict]]:
    def group(name: str, label: str) -> dict:
        return {"name": name, "label": label, "displayOrder": -1, "archived": False}

    return {
        "contacts": {g["name"]: g for g in (group("contactinformation", "Contact information"),
                                            group("sales_properties", "Sales properties"))},
        "companies": {"companyinformation": group("companyinformation", "Company information")},
        "tasks": {"task": group("task", "Task information")},
    }


def _detail(name: str, code: str, message: str, portal_id: int) -> dict:
    return {"isValid": False, "message": message, "error": code, "name": name,
            "localizedErrorMessage": message, "portalId": portal_id}


def normalise(defn: dict, raw: object) -> tuple[str | None, str | None]:
    """(stored value, error code) for one value written to a property of this definition."""
    value = "" if raw is None else str(raw).lower() if isinstance(raw, bool) else str(raw)
    if value == "":
        return "", None  # "" clears a property, whatever its type
    kind = defn["type"]
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return None, "INVALID_INTEGER"
        return value, None
    if kind == "date":
        return _as_date(value)
    if kind == "datetime":
        return _as_datetime(value)
    return value, None


def _as_date(value: str) -> tuple[str | None, str | None]:
    try:
        if value.isdigit():  # HubSpot also takes midnight-UTC epoch milliseconds
            moment = datetime.fromtimestamp(int(value) / 1000, UTC)
            if moment.time() != datetime.min.time():
                return None, "INVALID_DATE"
            return moment.date().isoformat(), None
        return date.fromisoformat(value).isoformat(), None
    except ValueError:
        return None, "INVALID_DATE"


def _as_datetime(value: str) -> tuple[str | None, str | None]:
    try:
        if value.isdigit():
            moment = datetime.fromtimestamp(int(value) / 1000, UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return iso(moment), None
    except ValueError:
        return None, "INVALID_DATETIME"


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check(
    defs: dict[str, dict], props: dict[str, object], owner_ids: set[str], portal_id: int
) -> tuple[dict[str, str], list[dict]]:
    """Normalised values and HubSpot error details for a property map someone wants to write."""
    clean: dict[str, str] = {}
    errors: list[dict] = []
    for name, raw in props.items():
        defn = defs.get(name)
        if defn is None:
            errors.append(_detail(name, "PROPERTY_DOESNT_EXIST",
                                  f'Property "{name}" does not exist', portal_id))
            continue
        if name in READ_ONLY:
            errors.append(_detail(name, "READ_ONLY_VALUE",
                                  f'"{name}" is a read only property; its value cannot be set.',
                                  portal_id))
            continue
        value, code = normalise(defn, raw)
        if code is None and value:
            code = _option_error(name, defn, value, owner_ids)
        if code is not None:
            allowed = sorted(owner_ids) if name == "hubspot_owner_id" else \
                [o["value"] for o in defn["options"]]
            errors.append(_detail(name, code, _message(name, code, raw, allowed), portal_id))
            continue
        clean[name] = value or ""
    return clean, errors


def _option_error(name: str, defn: dict, value: str, owner_ids: set[str]) -> str | None:
    if name == "email" and not EMAIL_RE.match(value):
        return "INVALID_EMAIL"
    if name == "hubspot_owner_id":
        return None if value in owner_ids else "INVALID_OPTION"
    if defn["type"] != "enumeration" or name == "hs_merged_object_ids":
        return None
    allowed = {o["value"] for o in defn["options"]}
    chosen = value.split(";") if defn["fieldType"] == "checkbox" else [value]
    return None if all(v in allowed for v in chosen) else "INVALID_OPTION"


def _message(name: str, code: str, raw: object, allowed: list[str]) -> str:
    if code == "INVALID_OPTION":
        return f"{raw} was not one of the allowed options: [{', '.join(allowed)}]"
    if code == "INVALID_EMAIL":
        return f"Email address {raw} is invalid"
    return f"{raw!s} is not a valid value for property {name} ({code})"
