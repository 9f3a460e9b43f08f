"""Validation helpers the source translators share."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ingest.body import MAX_BATCH, check_batch_size
from ingest.problems import Problem, invalid, pydantic_errors
from lifecycle.events import LeadEvent, check_event_size

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, prefix: str = "#") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(pydantic_errors(exc, prefix)) from None


def batch_of(data: Any, key: str | None, what: str, limit: int = MAX_BATCH) -> list[Any]:
    """The list of items in `data` (or in `data[key]`), after the batch-size check."""
    items = data.get(key) if key and isinstance(data, dict) else data
    if isinstance(items, list):
        check_batch_size(len(items), what, limit)
    return items if isinstance(items, list) else []


def stable_id(source: str, *parts: object) -> str:
    """An event id that is the same every time the same change is delivered."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"{source}:{digest}"


def oversized(events: list[tuple[str, LeadEvent]]) -> None:
    """413 naming every event (by JSON pointer) too large to hand to a lead; checked before
    anything of the request reaches Temporal."""
    errors = []
    for pointer, event in events:
        try:
            check_event_size(event)
        except ValueError as exc:
            errors.append({"pointer": pointer, "detail": str(exc)})
    if errors:
        raise Problem(413, "event-too-large", "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5]),
                      errors=errors)
