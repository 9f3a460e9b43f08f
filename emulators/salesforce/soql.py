"""Just enough SOQL: SELECT f, ... FROM obj [WHERE a op v AND ...] [ORDER BY f [DESC]] [LIMIT n],
where `op` is a comparison or `IN ('a', 'b', ...)`.

That covers the incremental reads (SystemModstamp windows), owner lookups and key lookups
leadflow issues. Anything else is refused with MALFORMED_QUERY, as Salesforce would for
syntax it cannot parse.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_COND = re.compile(r"^\s*(\w+)\s*(<=|>=|!=|=|<|>|\bIN\b)\s*(.+?)\s*$", re.DOTALL | re.I)
# One literal of an IN list: a quoted string (with \' escapes) or a bare token.
_IN_ITEM = re.compile(r"\s*('(?:[^'\\]|\\.)*'|[^,\s)]+)\s*(?:,|$)")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Query:
    fields: list[str]
    sobject: str
    conditions: list[tuple[str, str, Any]]
    order_by: str | None
    descending: bool
    limit: int | None

    def run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = [r for r in records if all(_holds(r.get(f), op, v) for f, op, v in self.conditions)]
        if self.order_by:
            key = self.order_by
            rows.sort(key=lambda r: (r.get(key) is None, r.get(key)), reverse=self.descending)
        return rows[: self.limit] if self.limit is not None else rows


def parse(text: str, known_fields: Callable[[str], set[str] | None]) -> Query:
    """Parse `text`; `known_fields(sobject)` gives the queryable fields (None: no such object)."""
    m = _QUERY.match(text)
    if not m:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token in query: {text[:80]}")
    sobject = m["sobject"]
    known = known_fields(sobject)
    if known is None:
        raise SoqlError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    fields = [f.strip() for f in m["fields"].split(",")]
    conditions = [_condition(c) for c in re.split(r"\s+AND\s+", m["where"] or "", flags=re.I)
                  if c.strip()]
    for name in fields + [c[0] for c in conditions] + ([m["order"]] if m["order"] else []):
        if name not in known:
            raise SoqlError("INVALID_FIELD", f"\n{text[:120]}\nERROR at Row:1:Column:1\n"
                            f"No such column '{name}' on entity '{sobject}'. If you are "
                            "attempting to use a custom field, be sure to append the '__c' "
                            "after the custom field name.")
    return Query(fields, sobject, conditions, m["order"], (m["dir"] or "").upper() == "DESC",
                 int(m["limit"]) if m["limit"] else None)


def _condition(text: str) -> tuple[str, str, Any]:
    m = _COND.match(text)
    if not m:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {text[:80]}")
    if m[2].upper() != "IN":
        return m[1], m[2], _literal(m[3])
    inner = m[3].strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {inner[:80]}")
    items = [_literal(i) for i in _IN_ITEM.findall(inner[1:-1])]
    if not items:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {inner[:80]}")
    return m[1], "IN", items


def _literal(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _DATETIME.match(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return date.fromisoformat(text).isoformat()  # dates are stored as ISO strings
    try:
        return float(text)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {text[:80]}") from None


def _holds(value: Any, op: str, literal: Any) -> bool:
    # SOQL and SOSL Reference, "Comparison Operators": string comparisons are case-insensitive
    # (except on case-sensitive unique fields, which the emulated objects do not have).
    if isinstance(value, str):
        value = value.lower()
    if op == "IN":
        return any(_holds(value, "=", item) for item in literal)
    if isinstance(literal, str):
        literal = literal.lower()
    if value is None or literal is None:
        return _OPS[op](value, literal) if op in ("=", "!=") else False
    try:
        return _OPS[op](value, literal)
    except TypeError:
        return False
