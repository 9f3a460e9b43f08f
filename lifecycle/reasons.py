"""Disqualification and loss reasons: the playbook's codes, and what a CRM's free value becomes.

A reason a person picked in a CRM is never dropped: a value matching one of the playbook's codes
(ignoring case and punctuation: "Competitor chosen", "Student / research" are codes) becomes that code,
any other value is kept as `other:<value>` so the report shows it and someone can add a code.
"""

from __future__ import annotations

import re

OTHER_PREFIX = "other:"


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
