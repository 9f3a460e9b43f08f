"""How Salesforce puts records and errors on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from emulators.salesforce.schema import API_VERSION


def errors_response(status: int, errors: list[dict[str, Any]]) -> JSONResponse:
    """Single-record REST errors: a JSON array of {message, errorCode, fields}."""
    body = [{"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]}
            | ({"duplicateResult": e["duplicateResult"]} if "duplicateResult" in e else {})
            for e in errors]
    return JSONResponse(body, status_code=status)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status)


def value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}+0000"
    return v


def record_json(sobject: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {
        "type": sobject, "url": f"/services/data/v{API_VERSION}/sobjects/{sobject}/{record['Id']}"
    }}
    for name in fields:
        out[name] = value(record.get(name))
    return out
