"""What the Salesforce side of docs/salesforce-flow.md sends: a signed callout per Lead change.

Built from the emulator's own Lead records, as the documented Apex class serialises them,
so tests drive leadflow's Salesforce webhook exactly as an org would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

SIGNATURE_HEADER = "X-Leadflow-Signature"
# The Lead fields the documented Apex adds for the stock playbooks' `fields:` (firmographics).
FIELD_SET = ("NumberOfEmployees", "Industry", "Country", "State", "Role__c", "Use_Case__c")


def lead_change(record: dict[str, Any], changed_by: str,
                master_email: str | None = None) -> dict[str, Any]:
    """One Lead as the callout carries it (null fields included, as Apex JSON.serialize does)."""
    stamp = record.get("SystemModstamp")
    return {
        "Id": record["Id"],
        "Email": record.get("Email"),
        "Status": record.get("Status"),
        "Lead_Stage__c": record.get("Lead_Stage__c"),
        "IsConverted": bool(record.get("IsConverted")),
        "ConvertedContactId": record.get("ConvertedContactId"),
        "IsDeleted": bool(record.get("IsDeleted")),
        "MasterRecordId": record.get("MasterRecordId"),
        "MasterRecordEmail": master_email,
        "Disqualification_Reason__c": record.get("Disqualification_Reason__c"),
        "Loss_Reason__c": record.get("Loss_Reason__c"),
        "ChangedBy": changed_by,
        "SystemModstamp": stamp.isoformat() if isinstance(stamp, datetime) else stamp,
        **{name: record.get(name) for name in FIELD_SET},
    }


def signed_callout(secret: str, leads: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    """(body, headers): hex HMAC-SHA256 of the exact body bytes in X-Leadflow-Signature."""
    body = json.dumps({"leads": leads}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
