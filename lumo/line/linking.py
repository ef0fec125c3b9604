"""Account-link flow helpers: nonces and the LINE dialog URL (line.md §2)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

ACCOUNT_LINK_ORIGIN = "https://access.line.me"
ACCOUNT_LINK_PATH = "/dialog/bot/accountLink"
NONCE_BYTES = 24
MIN_NONCE_BYTES = 16

_NONCE_RE = re.compile(r"[A-Za-z0-9_\-]{10,255}")


def make_nonce(nbytes: int = NONCE_BYTES) -> str:
    """Return a single-use nonce from the OS CSPRNG, base64-url encoded (32 chars by default)."""
    if nbytes < MIN_NONCE_BYTES:
        raise ValueError(f"A link nonce needs at least {MIN_NONCE_BYTES} random bytes.")
    return secrets.token_urlsafe(nbytes)


def is_valid_nonce(nonce: str) -> bool:
    """Tell whether `nonce` fits LINE's rule (10-255 characters) in the url-safe alphabet."""
    return isinstance(nonce, str) and bool(_NONCE_RE.fullmatch(nonce))


def account_link_url(link_token: str, nonce: str, *, origin: str = ACCOUNT_LINK_ORIGIN) -> str:
    """Build the URL the friend's browser is redirected to so LINE can confirm the link.

    `origin` is the stand-in's URL in tests and demos.
    """
    if not link_token:
        raise ValueError("A link token is required; issue one with LineClient.issue_link_token.")
    if not is_valid_nonce(nonce):
        raise ValueError("The nonce must be 10-255 url-safe characters; use make_nonce().")
    query = urlencode({"linkToken": link_token, "nonce": nonce})
    return f"{origin.rstrip('/')}{ACCOUNT_LINK_PATH}?{query}"
