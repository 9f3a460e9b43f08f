"""Who may send: the product backend's bearer token and each vendor's webhook signature.

Every check compares in constant time and fails with a 401 problem that says what was
missing or wrong, never which part of a secret matched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from pydantic import SecretStr
from starlette.requests import Request

from ingest.hubspot_signature import verify_v3
from ingest.problems import Problem

SALESFORCE_SIGNATURE = "X-Leadflow-Signature"
HUBSPOT_MAX_AGE_S = 300


def unauthorized(reason: str, detail: str) -> Problem:
    return Problem(401, reason, detail)


def _secret(value: SecretStr | None, setting: str) -> str:
    if value is None or not value.get_secret_value():
        raise unauthorized("not-configured", f"{setting} is not set on this server, so nothing "
                                             "sent here can be authenticated")
    return value.get_secret_value()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def bearer_ok(request: Request, token: SecretStr | None) -> bool:
    """True when the request carries `Authorization: Bearer <token>`."""
    if token is None or not token.get_secret_value():
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _same(token.get_secret_value(), given.strip())


def require_bearer(request: Request, token: SecretStr | None) -> None:
    expected = _secret(token, "LEADFLOW_INGEST_TOKEN")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if not given or scheme.lower() != "bearer":
        raise unauthorized("missing-token", "send Authorization: Bearer <LEADFLOW_INGEST_TOKEN>")
    if not _same(expected, given.strip()):
        raise unauthorized("bad-token", "the bearer token is not the one this server accepts")


def hmac_hex(secret: str, data: bytes, digest: Any) -> str:
    return hmac.new(secret.encode(), data, digest).hexdigest()


def segment_signature(request: Request, secret: SecretStr | None) -> tuple[str, str]:
    """(secret, X-Signature) or a 401 when either is missing."""
    key = _secret(secret, "SEGMENT_WEBHOOK_SECRET")
    given = request.headers.get("x-signature", "").strip().lower()
    if not given:
        raise unauthorized("missing-signature", "X-Signature header is missing")
    return key, given


def segment_signs(key: str, given: str, body: bytes) -> bool:
    """X-Signature is hex HMAC-SHA1 of the signed bytes with the shared secret."""
    return _same(hmac_hex(key, body, hashlib.sha1), given)


def verify_segment_first_event(key: str, given: str, first_event: Any) -> None:
    """A batched delivery is signed over its first event alone (as compact JSON)."""
    body = json.dumps(first_event, separators=(",", ":"), ensure_ascii=False).encode()
    if first_event is None or not segment_signs(key, given, body):
        raise unauthorized("bad-signature", "X-Signature does not match the body "
                                            "(hex HMAC-SHA1 with SEGMENT_WEBHOOK_SECRET)")


def verify_hubspot(request: Request, raw: bytes, secret: SecretStr | None,
                   now: float | None = None) -> None:
    """X-HubSpot-Signature-v3 over method, full URI, body and X-HubSpot-Request-Timestamp."""
    key = _secret(secret, "HUBSPOT_CLIENT_SECRET")
    signature = request.headers.get("x-hubspot-signature-v3", "")
    stamp = request.headers.get("x-hubspot-request-timestamp", "")
    if not signature or not stamp:
        raise unauthorized("missing-signature",
                           "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required")
    current = time.time() if now is None else now
    # Epoch milliseconds have 13 digits; a longer one is no time (and too large for a float).
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 16) or (
            abs(current - int(stamp) / 1000) > HUBSPOT_MAX_AGE_S):
        raise unauthorized("stale-timestamp", "X-HubSpot-Request-Timestamp is not within "
                                              f"{HUBSPOT_MAX_AGE_S // 60} minutes of now")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise unauthorized("bad-signature", "the body is not UTF-8, so it cannot be HubSpot's") from None
    if not verify_v3(key, request.method, str(request.url), body, stamp, signature, now=current,
                     max_age=HUBSPOT_MAX_AGE_S):
        raise unauthorized("bad-signature", "X-HubSpot-Signature-v3 does not match this request "
                                            "(method, URI, body, timestamp) and HUBSPOT_CLIENT_SECRET")


def verify_salesforce(request: Request, raw: bytes, secret: SecretStr | None) -> None:
    """X-Leadflow-Signature: hex HMAC-SHA256 of the raw body (see docs/salesforce-flow.md)."""
    key = _secret(secret, "SALESFORCE_WEBHOOK_SECRET")
    given = request.headers.get(SALESFORCE_SIGNATURE.lower(), "").strip().lower()
    if not given:
        raise unauthorized("missing-signature", f"{SALESFORCE_SIGNATURE} header is missing")
    if not _same(hmac_hex(key, raw, hashlib.sha256), given):
        raise unauthorized("bad-signature", f"{SALESFORCE_SIGNATURE} does not match the body "
                                            "(hex HMAC-SHA256 with SALESFORCE_WEBHOOK_SECRET)")
