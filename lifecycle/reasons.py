"""Disqualification and loss reasons: the playbook's codes, and what a CRM's free value becomes.

A reason a person picked in a CRM is never dropped: a value matching one of the playbook's codes
(ignoring case and punctuation: "Competitor chosen", "Student / research" are codes) becomes that code,
any other value is kept as `other:<value>` so the report shows it and someone can add a code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from config.playbook import Playbook, StageKind
from config.vendors import Vendor

OTHER_PREFIX = "other:"
# Where each CRM keeps a rep's reason (leadflow's setup creates these fields), by stage kind.
REASON_FIELDS: dict[Vendor, dict[StageKind, str]] = {
    Vendor.HUBSPOT: {StageKind.DISQUALIFIED: "lead_disqualification_reason",
                StageKind.LOST: "lead_loss_reason"},
    Vendor.SALESFORCE: {StageKind.DISQUALIFIED: "Disqualification_Reason__c",
                   StageKind.LOST: "Loss_Reason__c"},
}


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def crm_reason(known: list[str], value: str | None) -> str | None:
    """The reason code for a CRM's reason field value (None when the CRM has none)."""
    if value is None or not value.strip():
        return None
    value = vendor_value(value.strip())
    by_key = {_key(code): code for code in known}
    return by_key.get(_key(value), f"{OTHER_PREFIX}{value}")


def vendor_value(reason: str) -> str:
    """What a CRM's reason field shows: the person's own words for a reason without a code."""
    return reason.removeprefix(OTHER_PREFIX)


def reason_in_crm(pb: Playbook, system: Vendor | str, stage: str,
                  fields: Mapping[str, str | None]) -> str | None:
    """The CRM record's own reason for `stage` (a disqualified or lost one), as it reads there."""
    field = REASON_FIELDS.get(Vendor(system), {}).get(pb.stage(stage).kind)
    return (fields.get(field) or None) if field else None
