"""Which playbook a new lead starts in: the first `selection:` rule its attributes match, else
the default. Pure; LeadClient asks it when it starts a lead."""

from __future__ import annotations

from collections.abc import Mapping

from config.selection import Selection
from lifecycle.accounts import EMAIL_TYPE_FIELD, email_type


def lead_attributes(email: str, properties: Mapping[str, str] | None = None,
                    fields: Mapping[str, str] | None = None, source: str | None = None) -> dict[str, str]:
    """What selection rules can test: the lead's fields and its first event's properties, its
    source, its email type, and `product` (or `product_interest`)."""
    found = {**(fields or {}), **(properties or {})}
    if source:
        found.setdefault("source", source)
    found.setdefault(EMAIL_TYPE_FIELD, email_type(email))
    if "product" not in found and found.get("product_interest"):
        found["product"] = found["product_interest"]
    return found


def select_playbook(selection: Selection, attributes: Mapping[str, str], default: str) -> str:
    """The first rule whose every condition matches names the playbook; else the default."""
    for rule in selection.selection:
        if all(_matches(attributes.get(key), allowed) for key, allowed in rule.when.items()):
            return rule.playbook
    return selection.default or default


def _matches(value: str | None, allowed: list[str]) -> bool:
    wanted = {a.strip().lower() for a in allowed}
    return value is not None and value.strip().lower() in wanted
