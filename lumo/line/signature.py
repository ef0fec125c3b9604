"""The `x-line-signature` scheme: base64 HMAC-SHA256 of the raw webhook body (line.md §1)."""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "x-line-signature"


def sign(channel_secret: str, raw_body: bytes) -> str:
    """Return the signature LINE puts on `raw_body`; used by the stand-in and by tests."""
    digest = hmac.new(channel_secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(channel_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Tell whether `header` signs exactly these bytes; a missing header never verifies."""
    if not header or not channel_secret:
        return False
    expected = sign(channel_secret, raw_body)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8"))
