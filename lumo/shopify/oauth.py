"""Installing Lumo on a store: the authorize URL, request HMAC checks and the token exchange."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from lumo.shopify.errors import InvalidShopDomainError, MissingScopesError, OAuthError

logger = logging.getLogger(__name__)

SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com$")
ADMIN_STORE_URL = re.compile(
    r"^(?:https?://)?admin\.shopify\.com/store/([a-zA-Z0-9][a-zA-Z0-9-_]*)"
)
TOKEN_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DEFAULT_MAX_AGE = 90  # seconds; Shopify's JS library rejects older callbacks

QueryInput = str | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class AccessToken:
    """What the token endpoint returned."""

    access_token: str
    scopes: frozenset[str]
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_token_expires_in: int | None = None


def normalize_shop_domain(shop: str) -> str:
    """Return `{handle}.myshopify.com` for a valid shop, or raise `InvalidShopDomainError`."""
    candidate = (shop or "").strip().lower().rstrip("/")
    admin = ADMIN_STORE_URL.match(candidate)
    if admin:
        candidate = f"{admin.group(1)}.myshopify.com"
    candidate = candidate.removeprefix("https://").removeprefix("http://")
    if not SHOP_DOMAIN.match(candidate):
        raise InvalidShopDomainError(
            "That is not a Shopify store address; enter it as your-store.myshopify.com."
        )
    return candidate


def new_state() -> str:
    """A random nonce for the `state` parameter (store it in the session)."""
    return secrets.token_urlsafe(24)


def authorize_url(
    shop: str,
    *,
    client_id: str,
    scopes: Iterable[str],
    redirect_uri: str,
    state: str,
    url_template: str = "https://{shop}",
    online: bool = False,
) -> str:
    """The URL to send the merchant to; an empty `grant_options[]` asks for an offline token."""
    domain = normalize_shop_domain(shop)
    params = [
        ("client_id", client_id),
        ("scope", ",".join(scopes)),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("grant_options[]", "per-user" if online else ""),
    ]
    return f"{url_template.format(shop=domain)}/admin/oauth/authorize?{urlencode(params)}"


def _pairs(query: QueryInput) -> list[tuple[str, str]]:
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if isinstance(query, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in query.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, item) for item in value)
        return pairs
    return list(query)


def query_hmac_message(query: QueryInput) -> str:
    """The string Shopify signs for admin redirects (reference §1.4)."""
    grouped: dict[str, list[str]] = {}
    for key, value in _pairs(query):
        if key in ("hmac", "signature"):
            continue
        grouped.setdefault(key, []).append(value)

    parts = []
    for key in sorted(grouped):
        values = grouped[key]
        safe_key = key.replace("%", "%25").replace("&", "%26").replace("=", "%3D")
        if key.endswith("[]"):
            listed = ", ".join(json.dumps(v) for v in values)
            parts.append(f"{safe_key[:-2]}=[{listed}]")
            continue
        value = values[-1].replace("%", "%25").replace("&", "%26")
        parts.append(f"{safe_key}={value}")
    return "&".join(parts)


def sign_query(query: QueryInput, secret: str) -> str:
    """Hex HMAC-SHA256 of a query, as Shopify computes it."""
    message = query_hmac_message(query)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query_hmac(query: QueryInput, secret: str) -> bool:
    """True when the `hmac` parameter matches (constant-time)."""
    received = [value for key, value in _pairs(query) if key == "hmac"]
    if len(received) != 1:
        return False
    return hmac.compare_digest(sign_query(query, secret), received[0])


def verify_callback(
    query: QueryInput,
    *,
    secret: str,
    expected_state: str | None,
    max_age: int = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> dict[str, str]:
    """Check an install or OAuth callback request; return its parameters or raise `OAuthError`.

    Pass `expected_state=None` for the install request (it has no state yet).
    """
    params = dict(_pairs(query))
    if not verify_query_hmac(query, secret):
        raise OAuthError("The request's signature is wrong; start the install again from Shopify.")
    params["shop"] = normalize_shop_domain(params.get("shop", ""))
    if expected_state is not None and not hmac.compare_digest(
        params.get("state", ""), expected_state
    ):
        raise OAuthError("The install session does not match; start the install again.")
    try:
        timestamp = int(params.get("timestamp", ""))
    except ValueError as error:
        raise OAuthError("The request has no valid timestamp; start the install again.") from error
    current = time.time() if now is None else now
    if abs(current - timestamp) > max_age:
        raise OAuthError("The install link is too old; start the install again from Shopify.")
    return params


def exchange_code(
    shop: str,
    code: str,
    *,
    client_id: str,
    client_secret: str,
    url_template: str = "https://{shop}",
    expiring: bool = False,
    http: httpx.Client | None = None,
) -> AccessToken:
    """Trade the callback's `code` for an access token."""
    domain = normalize_shop_domain(shop)
    url = f"{url_template.format(shop=domain)}/admin/oauth/access_token"
    body = {
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
        "expiring": "1" if expiring else "0",
    }
    owned = http is None
    session = http or httpx.Client()
    try:
        response = session.post(
            url, json=body, headers={"Accept": "application/json"}, timeout=TOKEN_TIMEOUT
        )
    except httpx.TransportError as error:
        raise OAuthError(
            f"Could not reach {domain} to finish the install; try again in a minute."
        ) from error
    finally:
        if owned:
            session.close()

    if response.status_code != 200:
        raise OAuthError(
            f"Shopify refused the install code (HTTP {response.status_code}); the code may have "
            "been used already. Start the install again."
        )
    data: dict[str, Any] = response.json()
    logger.info("shop %s: access token issued", domain)
    return AccessToken(
        access_token=str(data["access_token"]),
        scopes=parse_scopes(data.get("scope", "")),
        expires_in=data.get("expires_in"),
        refresh_token=data.get("refresh_token"),
        refresh_token_expires_in=data.get("refresh_token_expires_in"),
    )


def parse_scopes(value: str | Iterable[str]) -> frozenset[str]:
    """Scopes from Shopify's comma-separated form (or any iterable)."""
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(item.strip() for item in items if item and item.strip())


def missing_scopes(requested: Iterable[str], granted: Iterable[str]) -> set[str]:
    """Requested scopes not covered by the grant; `write_x` covers `read_x`."""
    have = set(parse_scopes(granted))
    have |= {"read_" + s.removeprefix("write_") for s in have if s.startswith("write_")}
    have |= {
        s.replace("unauthenticated_write_", "unauthenticated_read_")
        for s in have
        if s.startswith("unauthenticated_write_")
    }
    return set(parse_scopes(requested)) - have


def check_scopes(requested: Iterable[str], granted: Iterable[str]) -> None:
    """Raise `MissingScopesError` when the merchant granted less than Lumo asked for."""
    missing = missing_scopes(requested, granted)
    if missing:
        raise MissingScopesError(missing)
