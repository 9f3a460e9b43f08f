"""Which event properties a lead keeps as fields: bounded, however many names senders invent.

Every event may carry properties, and each new name used to become a field of the lead for
good, so a sender inventing names (`utm_1`, `utm_2`, ..., or a tracking id per event) grew the
state without end, and the state travels in every continue-as-new and every query. A lead now
keeps:

- every field the playbook or leadflow reads (`known_fields`): fit attributes, stages' required
  fields, routing attributes, the contact attributes synced to the vendors, the email type and
  the campaign the report groups by. These are bounded by the playbook; each value by the event
  size (`lifecycle.events.MAX_EVENT_BYTES`);
- other names while there are fewer than MAX_OTHER_FIELDS of them and they take at most
  MAX_OTHER_CHARS characters (names and values together). An other field the lead already has
  is updated when the new value fits; a new name past either bound is not kept, and counted in
  the state's `dropped_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.lead_fields import DEFAULT_FIELDS
from config.playbook import Playbook
from lifecycle.accounts import EMAIL_TYPE_FIELD
from lifecycle.frameworks import expand

MAX_OTHER_FIELDS = 50
MAX_OTHER_CHARS = 16 * 1024
# The contact attributes the vendor snapshot copies to the CRMs (workflows/vendor_snapshot.py).
CONTACT_FIELDS = frozenset({"firstname", "lastname", "company", "phone", "jobtitle", "website",
                            "industry", "country", "city", "state"})
# What routing rules read (lifecycle/routing.py), and what the ledger's report groups by.
ROUTING_FIELDS = frozenset({"region", "country", "industry", "company_size", "product_interest",
                            "state", "postal_code", "company_domain"})
REPORT_FIELDS = frozenset({"campaign", "utm_campaign", EMAIL_TYPE_FIELD})


def known_fields(pb: Playbook) -> frozenset[str]:
    """The field names this playbook and leadflow read: always kept (the playbook's `fields:`
    and the synced contact attributes, fit, grade and ICP attributes, `if:` conditions, and
    stages' required fields with their frameworks' fields)."""
    return (CONTACT_FIELDS | ROUTING_FIELDS | REPORT_FIELDS | set(DEFAULT_FIELDS) | set(pb.fields)
            | {rule.attribute for rule in pb.scoring.fit}
            | set(expand(name for stage in pb.stages for name in stage.required_fields))
            | {key for t in pb.transitions for key in t.if_}
            | {key for rule in (pb.grades.rules if pb.grades else []) for key in rule.if_}
            | {rule.attribute for rule in (pb.icp.rules if pb.icp else [])})


def keep(pb: Playbook, fields: dict[str, str], properties: Mapping[str, str],
         known: frozenset[str] | None = None) -> int:
    """Adds `properties` to `fields` (in place) within the bounds above; returns how many
    properties were not kept."""
    known = known_fields(pb) if known is None else known
    others = [k for k in fields if k not in known]
    used = sum(len(k) + len(fields[k]) for k in others)
    count, dropped = len(others), 0
    for key, value in properties.items():
        if key in known:
            fields[key] = value
            continue
        before = len(key) + len(fields[key]) if key in fields else 0
        if (key not in fields and count >= MAX_OTHER_FIELDS) or \
                used - before + len(key) + len(value) > MAX_OTHER_CHARS:
            dropped += 1
            continue
        if key not in fields:
            count += 1
        used += len(key) + len(value) - before
        fields[key] = value
    return dropped
