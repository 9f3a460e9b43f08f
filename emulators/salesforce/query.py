"""query / queryAll with `nextRecordsUrl` paging over a snapshot of the result, like Salesforce."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.salesforce import schema, soql
from emulators.salesforce.schema import API_VERSION
from emulators.salesforce.state import SalesforceState
from emulators.salesforce.wire import error_response, record_json

# REST API Developer Guide, "Query More Results"/SOQL reference: a query locator stays valid
# for two days after it was opened; after that queryMore answers INVALID_QUERY_LOCATOR.
CURSOR_TTL = timedelta(days=2)


async def handle(
    state: SalesforceState, request: Request, endpoint: str, rest: list[str]
) -> Response:
    """`endpoint` is query or queryAll; `rest` holds a locator for query_more."""
    if rest:
        return _page(state, endpoint, rest[0])
    text = request.query_params.get("q")
    if not text:
        return error_response(400, "MALFORMED_QUERY", "q parameter is required")

    def known(sobject: str) -> set[str] | None:
        if sobject not in ("Lead", "Account", "Task", "User"):
            return None
        return set(schema.fields_for(sobject, state.custom_fields))

    try:
        query = soql.parse(text, known)
    except soql.SoqlError as exc:
        return error_response(400, exc.code, exc.message)
    rows = state.select_where(query.sobject, endpoint == "queryAll", query.run)
    payload = [record_json(query.sobject, r, query.fields) for r in rows]
    locator = "01g" + secrets.token_hex(6).upper()
    with state.lock:
        state.query_cursors[locator] = (payload, _batch_size(state, request), datetime.now(UTC))
    return _page(state, endpoint, f"{locator}-0")


def _batch_size(state: SalesforceState, request: Request) -> int:
    """Sforce-Query-Options: batchSize=N may only lower the org's batch size (floor 200)."""
    m = re.search(r"batchSize=(\d+)", request.headers.get("Sforce-Query-Options", ""))
    asked = max(200, int(m[1])) if m else state.query_batch_size
    return min(asked, state.query_batch_size)


def _page(state: SalesforceState, endpoint: str, locator: str) -> Response:
    cursor, _, offset_text = locator.rpartition("-")
    with state.lock:
        found = state.query_cursors.get(cursor)
    if (found is None or not offset_text.isdigit()
            or datetime.now(UTC) - found[2] > CURSOR_TTL):
        return error_response(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    rows, size, _ = found
    offset = int(offset_text)
    page = rows[offset : offset + size]
    done = offset + size >= len(rows)
    body: dict[str, object] = {"totalSize": len(rows), "done": done, "records": page}
    if done:
        with state.lock:
            state.query_cursors.pop(cursor, None)
    else:
        next_locator = f"{cursor}-{offset + size}"
        body["nextRecordsUrl"] = f"/services/data/v{API_VERSION}/{endpoint}/{next_locator}"
    return JSONResponse(body)
