"""CRM search as HubSpot runs it: filter groups (OR of ANDs), one sort, `after` paging,
a 200-per-page limit and the 10,000-result ceiling on how deep paging may go."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from emulators.hubspot.store import Record, ValidationFailed

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6


class SearchRejected(ValidationFailed):
    """A malformed or too-deep search: HubSpot answers 400 VALIDATION_ERROR."""

    def __init__(self, message: str) -> None:
        super().__init__([], message)


def _key(value: str | None, kind: str) -> Any:
    if value is None or value == "":
        return None
    return _parsed(value, kind)


# A pure function of its arguments; cached because every search compares every record's
# timestamps, and a backfill searches the same ten thousand contacts dozens of times.
@lru_cache(maxsize=1 << 16)
def _parsed(value: str, kind: str) -> Any:
    if kind == "number":
        return float(value)
    if kind == "datetime":
        if value.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.lower()  # string comparisons in search are case-insensitive


def _matcher(flt: dict, defs: dict[str, dict]) -> Callable[[Record], bool]:
    """One filter as a test of a record. The filter's own values are parsed once, on first
    use (as before, a filter never reached for any record never parses them)."""
    name, op = str(flt.get("propertyName")), flt.get("operator", "EQ")
    kind = defs.get(name, {}).get("type", "string")
    parsed: dict[str, Any] = {}

    def arg(field: str) -> Any:
        if field not in parsed:
            parsed[field] = {_key(str(v), kind) for v in flt.get("values", [])} \
                if field == "values" else _key(str(flt.get(field, "")), kind)
        return parsed[field]

    def test(record: Record) -> bool:
        have = _key(record.properties.get(name), kind)
        if op == "HAS_PROPERTY":
            return have is not None
        if op == "NOT_HAS_PROPERTY":
            return have is None
        if op in ("IN", "NOT_IN"):
            inside = have in arg("values")
            return inside if op == "IN" else not inside
        want = arg("value")
        if op == "NEQ":
            return have != want
        if have is None:
            return False
        if op == "EQ":
            return bool(have == want)
        if op == "BETWEEN":
            return bool(want <= have <= arg("highValue"))
        if op == "GT":
            return bool(have > want)
        if op == "GTE":
            return bool(have >= want)
        if op == "LT":
            return bool(have < want)
        if op == "LTE":
            return bool(have <= want)
        raise SearchRejected(f"Unsupported operator {op}")
    return test


def _validate(body: dict, limit: int, after: int) -> list[dict]:
    groups = body.get("filterGroups") or []
    if len(groups) > MAX_GROUPS or any(
        len(g.get("filters", [])) > MAX_FILTERS_PER_GROUP for g in groups
    ):
        raise SearchRejected(f"Too many filters: at most {MAX_GROUPS} filterGroups "
                             f"of {MAX_FILTERS_PER_GROUP} filters are allowed")
    if limit > MAX_LIMIT or limit < 0:
        raise SearchRejected(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
    if after + limit > MAX_RESULTS:
        raise SearchRejected(
            f"Paging beyond {MAX_RESULTS} results is not supported: after={after}, "
            f"limit={limit}. Narrow the query (e.g. a smaller time window)."
        )
    return groups


def run(records: list[Record], body: dict, defs: dict[str, dict], base_url: str,
        object_type: str) -> dict:
    limit = int(body.get("limit", 10))
    after = int(body.get("after") or 0)
    groups = _validate(body, limit, after)
    tests = [[_matcher(f, defs) for f in g.get("filters", [])] for g in groups]
    hits = [r for r in records if not tests or any(all(t(r) for t in g) for g in tests)]
    hits.sort(key=lambda r: int(r.id))
    for sort in reversed(body.get("sorts") or []):
        name = str(sort.get("propertyName")) if isinstance(sort, dict) \
            else str(sort).lstrip("-")
        desc = (sort.get("direction") == "DESCENDING") if isinstance(sort, dict) \
            else str(sort).startswith("-")
        kind = defs.get(name, {}).get("type", "string")
        # Records without the property sort last either way, as in HubSpot.
        keyed = [(_key(r.properties.get(name), kind), r) for r in hits]
        present = [(k, r) for k, r in keyed if k is not None]
        absent = [r for k, r in keyed if k is None]
        present.sort(key=lambda pair: pair[0], reverse=desc)
        hits = [r for _, r in present] + absent
    names = [p for p in body.get("properties") or [] if p in defs] or None
    page = hits[after:after + limit]
    out: dict = {"total": len(hits), "results": [r.to_json(names) for r in page]}
    if after + limit < len(hits):
        nxt = str(after + limit)
        out["paging"] = {"next": {"after": nxt,
                                  "link": f"{base_url}/crm/v3/objects/{object_type}/search"
                                          f"?after={nxt}"}}
    return out
