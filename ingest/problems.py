"""RFC 9457 problem details: every refusal names what is wrong, as application/problem+json."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

# A URN: names the reason without promising a page to dereference (RFC 9457 §3.1.1).
PROBLEM_TYPE = "urn:leadflow:problem:"
TITLES = {
    400: "Malformed request body",
    401: "Not authenticated",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid fields",
    500: "Internal error",
    503: "Temporarily unavailable",
}


class Problem(Exception):
    """A refusal to answer with; `reason` is the metrics label and the problem type's slug."""

    def __init__(self, status: int, reason: str, detail: str, *,
                 errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail
        self.errors = errors or []
        self.headers = headers or {}

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_TYPE + self.reason,
                                "title": TITLES.get(self.status, "Error"),
                                "status": self.status, "detail": self.detail,
                                "instance": instance}
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self, instance: str) -> Response:
        return Response(json.dumps(self.body(instance)), status_code=self.status,
                        headers=self.headers, media_type="application/problem+json")


def invalid(errors: list[dict[str, str]], detail: str = "") -> Problem:
    """422 listing each bad field as {"pointer": "#/events/0/email", "detail": "..."}."""
    summary = detail or "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5])
    return Problem(422, "invalid-fields", summary, errors=errors)


def pydantic_errors(exc: Any, prefix: str = "#") -> list[dict[str, str]]:
    """pydantic's ValidationError as JSON-pointer-style field errors."""
    out = []
    for err in exc.errors(include_url=False):
        path = "/".join(str(p) for p in err["loc"])
        out.append({"pointer": f"{prefix}/{path}" if path else prefix, "detail": err["msg"]})
    return out
