"""HubSpot webhook signatures (v3): X-HubSpot-Signature-v3 over method, URI, body, timestamp.

signature = base64(HMAC-SHA256(app secret, method + uri + body + timestamp)); deliveries whose
X-HubSpot-Request-Timestamp (epoch milliseconds) is older than 5 minutes are rejected, which
stops a captured request from being replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

# HubSpot signs the URI with these characters decoded, whatever encoding the receiver sees.
_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
           "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


def _canonical_uri(uri: str) -> str:
    for encoded, plain in _DECODE.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    return uri


def _text(body: bytes | str) -> str:
    return body.decode("utf-8") if isinstance(body, bytes) else body


def sign_v3(secret: str, method: str, uri: str, body: bytes | str, timestamp: int | str) -> str:
    message = f"{method.upper()}{_canonical_uri(uri)}{_text(body)}{timestamp}"
    digest = hmac.new(secret.encode(), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    secret: str,
    method: str,
    uri: str,
    body: bytes | str,
    timestamp: int | str,
    signature: str,
    now: float | datetime,
    max_age: float = 300,
) -> bool:
    """True when `signature` is HubSpot's for this request and the timestamp is fresh.

    `timestamp` is the X-HubSpot-Request-Timestamp header (epoch ms); `now` is epoch seconds
    or an aware datetime; `max_age` is in seconds. Timestamps from the future beyond
    `max_age` are refused too, so a forged far-future stamp cannot extend a replay window.
    """
    try:
        sent_at = int(timestamp) / 1000
    except (TypeError, ValueError, OverflowError):  # no number, or too large for a float
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - sent_at) > max_age:
        return False
    expected = sign_v3(secret, method, uri, body, timestamp)
    return hmac.compare_digest(expected.encode(), (signature or "").encode())
