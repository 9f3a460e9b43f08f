"""Durations written the way revenue teams say them: "4h", "90d", "30m", "2w"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(value: Any) -> Any:
    """Turns "4h" into timedelta(hours=4); leaves anything else to pydantic (ISO 8601, seconds)."""
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    return value


def positive(value: timedelta) -> timedelta:
    """Every playbook duration (SLA, follow-up, half-life) is a span of time: zero or less is a
    mistake (a half-life of 0 divides by zero; an SLA of 0 breaches on entry)."""
    if value <= timedelta(0):
        raise ValueError("must be longer than zero (e.g. 4h, 30d)")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(positive)]
