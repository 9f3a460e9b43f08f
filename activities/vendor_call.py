"""The one way an activity calls a vendor's blocking client library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio.exceptions import ApplicationError

from connectors.base import VendorError

T = TypeVar("T")


async def vendor_call(fn: Callable[..., T], *args: Any) -> T:
    """Runs `fn` off the event loop; a VendorError becomes an activity error of type
    "VendorError" with the vendor's code, retried by Temporal only when the vendor says so."""
    try:
        return await asyncio.to_thread(fn, *args)
    except VendorError as exc:
        raise ApplicationError(str(exc), exc.code, type="VendorError",
                               non_retryable=not exc.retryable) from exc
