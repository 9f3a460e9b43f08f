"""The one way an activity calls a vendor's blocking client library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.exceptions import ApplicationError

from connectors.base import VendorError

T = TypeVar("T")


async def vendor_call(fn: Callable[..., T], *args: Any) -> T:
    """Runs `fn` off the event loop; a VendorError becomes an activity error of type
    "VendorError" with the vendor's code, retried by Temporal only when the vendor says so,
    and when it says (a daily limit's next probe) rather than after the retry policy's
    backoff, which by then may have grown to minutes."""
    try:
        return await asyncio.to_thread(fn, *args)
    except VendorError as exc:
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), exc.code, type="VendorError",
                               non_retryable=not exc.retryable, next_retry_delay=wait) from exc
