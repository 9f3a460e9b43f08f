"""The emulated portal's CRM records: contacts, companies and tasks, with HubSpot's write rules.

Methods raise `ValidationFailed` with HubSpot error details; the HTTP layer turns that into
the 400 VALIDATION_ERROR body. The caller (state) holds the lock.

Lookups by email go through an index of `email` and `hs_additional_emails` kept by the writes
here (create, update, merge, GDPR delete), so seeding or upserting thousands of contacts is not
quadratic; code outside the store must change those two properties through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from emulators.hubspot.schema import check, iso

EMAIL_PROPS = ("email", "hs_additional_emails")
UNIQUE = {"contacts": ("email",), "companies": (), "tasks": ()}
DEFAULT_PROPS = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                 "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}


class ValidationFailed(Exception):
    def __init__(self, details: list[dict], message: str | None = None) -> None:
        super().__init__(message or "Property values were not valid")
        self.details = details
        self.message = message


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


@dataclass
class Record:
    id: str
    object_type: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    merged_into: str | None = None
    associations: dict[str, set[str]] = field(default_factory=dict)

    def to_json(self, names: list[str] | None = None) -> dict:
        wanted = names or DEFAULT_PROPS[self.object_type]
        body = {
            "id": self.id,
            "properties": {n: self.properties.get(n) for n in wanted},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": self.archived,
        }
        if self.archived_at:
            body["archivedAt"] = iso(self.archived_at)
        return body


class ObjectStore:
    def __init__(self, properties: dict[str, dict[str, dict]], owner_ids: Callable[[], set[str]],
                 clock: Callable[[], datetime], portal_id: int) -> None:
        self.properties = properties
        self._owner_ids = owner_ids
        self._clock = clock
        self.portal_id = portal_id
        self.records: dict[str, dict[str, Record]] = {t: {} for t in UNIQUE}
        self._next_id = 1001
        self.blocked_emails: set[str] = set()  # after a GDPR delete of an unknown email
        # object type -> email property -> address -> ids of records (archived ones included)
        self._emails: dict[str, dict[str, dict[str, set[str]]]] = {
            t: {name: {} for name in EMAIL_PROPS} for t in UNIQUE}

    # ---- the email index -----------------------------------------------------------
    def _addresses(self, record: Record, name: str) -> list[str]:
        value = record.properties.get(name) or ""
        return [a for a in value.split(";") if a] if name == "hs_additional_emails" \
            else ([value] if value else [])

    def _index(self, record: Record, add: bool) -> None:
        for name in EMAIL_PROPS:
            table = self._emails[record.object_type][name]
            for address in self._addresses(record, name):
                ids = table.setdefault(address, set())
                if add:
                    ids.add(record.id)
                else:
                    ids.discard(record.id)
                    if not ids:
                        del table[address]

    def _by_email(self, object_type: str, name: str, address: str) -> list[Record]:
        """Records whose `name` holds `address`, oldest first (the order of `records`)."""
        table = self.records[object_type]
        ids = sorted(self._emails[object_type][name].get(address, ()), key=int)
        return [table[i] for i in ids if i in table]

    # ---- lookups -------------------------------------------------------------------
    def find(self, object_type: str, key: str, id_property: str | None = None,
             archived: bool = False) -> Record | None:
        table = self.records[object_type]
        if id_property in (None, "hs_object_id"):
            record = table.get(key)
            while record and record.merged_into and not archived:
                record = table.get(record.merged_into)  # merged ids resolve to the survivor
        else:
            wanted = key.lower() if id_property == "email" else key
            if id_property == "email" and wanted:
                record = next((r for r in self._by_email(object_type, "email", wanted)
                               if not r.archived), None)
            else:
                record = next((r for r in table.values()
                               if r.properties.get(id_property) == wanted and not r.archived), None)
            if record is None and id_property == "email":
                # After a merge the merged-away address is one of the survivor's additional
                # emails, and lookups by it answer the survivor (whose email is its own).
                record = next((r for r in self._by_email(object_type, "hs_additional_emails",
                                                         wanted) if not r.archived), None) \
                    if wanted else next((r for r in table.values() if not r.archived and wanted in
                                         (r.properties.get("hs_additional_emails") or "").split(";")),
                                        None)
        if record is None or record.archived != archived:
            return None
        return record

    def live(self, object_type: str) -> list[Record]:
        return [r for r in self.records[object_type].values() if not r.archived]

    # ---- writes --------------------------------------------------------------------
    def validate(self, object_type: str, props: dict[str, object]) -> dict[str, str]:
        clean, errors = check(self.properties[object_type], props, self._owner_ids(),
                              self.portal_id)
        if errors:
            raise ValidationFailed(errors)
        if "email" in clean:
            clean["email"] = clean["email"].lower()
        return clean

    def create(self, object_type: str, clean: dict[str, str],
               associations: list[dict] | None = None, at: datetime | None = None) -> Record:
        if object_type == "contacts" and clean.get("email") in self.blocked_emails:
            raise ValidationFailed([{"message": "email is blocklisted after a GDPR delete",
                                     "code": "INVALID_EMAIL", "context": {"propertyName": ["email"]}}])
        for name in UNIQUE[object_type]:
            existing = self.find(object_type, clean[name], name) if clean.get(name) else None
            if existing is not None:
                raise Conflict(f"Contact already exists. Existing ID: {existing.id}")
        now = at or self._clock()
        record_id = str(self._next_id)
        self._next_id += 1
        record = Record(record_id, object_type, {}, now, now)
        record.properties.update({"hs_object_id": record_id, **_stamps(object_type, now, True)})
        self._apply(record, clean, now)  # indexes it
        for assoc in associations or []:
            to_id = str(assoc.get("to", {}).get("id", ""))
            record.associations.setdefault("contacts", set()).add(to_id)
            contact = self.records["contacts"].get(to_id)
            if contact:
                contact.associations.setdefault(object_type, set()).add(record_id)
        self.records[object_type][record_id] = record
        return record

    def update(self, record: Record, clean: dict[str, str]) -> Record:
        self._apply(record, clean, self._clock())
        return record

    def _apply(self, record: Record, clean: dict[str, str], now: datetime) -> None:
        changes = dict(clean)
        stage = changes.get("lifecyclestage")
        if stage and self._is_backward(record.object_type, record.properties.get("lifecyclestage"),
                                       stage):
            # HubSpot answers success but keeps the later stage unless it was cleared first.
            del changes["lifecyclestage"]
        self._index(record, add=False)
        record.properties.update(changes)
        self._index(record, add=True)
        record.updated_at = now
        record.properties.update(_stamps(record.object_type, now, False))

    def _is_backward(self, object_type: str, current: str | None, new: str) -> bool:
        if not current:
            return False
        order = {o["value"]: o["displayOrder"]
                 for o in self.properties[object_type]["lifecyclestage"]["options"]}
        return order.get(new, -1) < order.get(current, -1)

    def archive(self, record: Record) -> None:
        record.archived = True
        record.archived_at = self._clock()

    def gdpr_delete(self, key: str, id_property: str | None) -> list[Record]:
        """HubSpot's GDPR delete: the contact is gone for good, archived copies included; an
        email HubSpot does not know is blocklisted instead (developers.hubspot.com/docs/
        api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact)."""
        table = self.records["contacts"]
        if id_property == "email":
            wanted = key.lower()
            found = self._by_email("contacts", "email", wanted) if wanted else \
                [r for r in table.values() if r.properties.get("email") == wanted]
            if not found:
                self.blocked_emails.add(wanted)
        else:
            found = [table[key]] if key in table else []
        for record in found:
            self._index(record, add=False)
            del table[record.id]
        return found

    def merge(self, object_type: str, primary_id: str, other_id: str) -> Record:
        primary = self.find(object_type, primary_id)
        other = self.find(object_type, other_id)
        if primary is None or other is None or primary is other:
            raise NotFound(f"Object not found. objectId are usually numeric. "
                           f"{primary_id} / {other_id}")
        # The survivor keeps its own values and fills gaps from the merged record.
        self._index(primary, add=False)
        for name, value in other.properties.items():
            if value and not primary.properties.get(name) and name not in _stamp_names():
                primary.properties[name] = value
        merged = [x for x in (primary.properties.get("hs_merged_object_ids") or "").split(";") if x]
        primary.properties["hs_merged_object_ids"] = ";".join(merged + [other.id])
        if other.properties.get("email") and other.properties.get("email") != primary.properties.get(
                "email"):
            extra = [x for x in (primary.properties.get("hs_additional_emails") or "").split(";")
                     if x]
            primary.properties["hs_additional_emails"] = ";".join(
                extra + [other.properties["email"]])
        self._index(primary, add=True)
        self.archive(other)
        other.merged_into = primary.id
        self.update(primary, {})
        return primary


def _stamp_names() -> set[str]:
    return {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate",
            "hs_object_id", "hs_merged_object_ids"}


def _stamps(object_type: str, now: datetime, created: bool) -> dict[str, str]:
    stamp = iso(now)
    out = {"hs_lastmodifieddate": stamp}
    if object_type == "contacts":
        out["lastmodifieddate"] = stamp
    if created:
        out["hs_createdate" if object_type == "tasks" else "createdate"] = stamp
    return out
