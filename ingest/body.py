"""Reading a request body: bounded in size before it is read, then parsed as JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from ingest.problems import Problem

# A batch of 100 events with generous properties fits well under this; Temporal's own
# payload limit (2 MB) stays out of reach.
MAX_BODY_BYTES = 1_048_576
MAX_BATCH = 100


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body (signatures are over these exact bytes); 413 past `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(f"body of {declared} bytes exceeds the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(detail: str) -> Problem:
    return Problem(413, "too-large", detail)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise Problem(400, "malformed-json", "the body is empty; a JSON document is expected")
    try:
        data = json.loads(raw)
        # "\ud800" escapes decode to lone surrogates, which no later step could encode.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        return data
    except UnicodeEncodeError:
        raise Problem(400, "malformed-json", "the body escapes a lone UTF-16 surrogate") from None
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-json", f"the body is not UTF-8: {exc.reason}") from None
    except RecursionError:
        raise Problem(400, "malformed-json", "the body nests too deeply") from None
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed-json",
                      f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                      ) from None


def check_batch_size(count: int, what: str, limit: int = MAX_BATCH) -> None:
    if count > limit:
        raise too_large(f"{count} {what} in one request; the limit is {limit}")
