"""The vendors leadflow syncs with, by the names used in settings, task queues, playbooks' field
mappings and events' `system` property (a StrEnum, so each member is also that plain string)."""

from __future__ import annotations

from enum import StrEnum


class Vendor(StrEnum):
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"
    SEGMENT = "segment"


# The CRMs: where owners work their tasks, leads have a stage, and people can be assigned.
CRMS = (Vendor.HUBSPOT, Vendor.SALESFORCE)
