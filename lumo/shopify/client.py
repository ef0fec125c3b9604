"""A small Shopify Admin GraphQL client that respects cost throttling and retries politely."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lumo.shopify.errors import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyThrottledError,
    ShopifyUnavailableError,
    ShopifyUserError,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
REVOKED_REASON = (
    "The Shopify access token was revoked or has expired (HTTP 401). "
    "Reconnect the store from Integrations → Shopify."
)
FORBIDDEN_REASON = (
    "Shopify refused Lumo's access token for this request (HTTP 403): the app lacks a "
    "permission or was uninstalled. Reconnect the store from Integrations → Shopify."
)

COUNT_QUERY = "query($q: String) {{ {field}(query: $q, limit: null) {{ count precision }} }}"
SHOP_QUERY = "{ shop { id name myshopifyDomain ianaTimezone currencyCode } }"


@dataclass(frozen=True)
class ThrottleStatus:
    """The cost bucket as Shopify last reported it."""

    maximum_available: float
    currently_available: float
    restore_rate: float
    requested_cost: float | None = None
    actual_cost: float | None = None


def _throttle_status(body: Mapping[str, Any]) -> ThrottleStatus | None:
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus")
    if not status:
        return None
    requested = cost.get("requestedQueryCost")
    actual = cost.get("actualQueryCost")
    return ThrottleStatus(
        maximum_available=float(status["maximumAvailable"]),
        currently_available=float(status["currentlyAvailable"]),
        restore_rate=float(status["restoreRate"]),
        requested_cost=None if requested is None else float(requested),
        actual_cost=None if actual is None else float(actual),
    )


def _is_throttled(errors: list[dict[str, Any]]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def raise_for_user_errors(operation: str, payload: Mapping[str, Any] | None) -> None:
    """Raise `ShopifyUserError` when a mutation payload carries `userErrors`."""
    user_errors = (payload or {}).get("userErrors") or []
    if user_errors:
        raise ShopifyUserError(operation, list(user_errors))


class ShopifyClient:
    """Admin GraphQL for one store: throttling, retries and auth failures handled in one place.

    Throttling (cost bucket, THROTTLED, 429) waits as long as Shopify says and does not use up
    the retry budget for failures; 5xx answers and network errors are retried with exponential
    backoff up to `max_retries` times.
    """

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        api_version: str,
        url_template: str = "https://{shop}",
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 5,
        max_throttle_waits: int = 50,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_auth_failure: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.base_url = url_template.format(shop=shop_domain)
        self.endpoint = f"{self.base_url}/admin/api/{api_version}/graphql.json"
        self.max_retries = max_retries
        self.max_throttle_waits = max_throttle_waits
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.on_auth_failure = on_auth_failure
        self.timeout = timeout
        self.last_throttle_status: ThrottleStatus | None = None
        self._token = access_token
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def http(self) -> httpx.Client:
        """The underlying httpx client (without the access token), e.g. for bulk downloads."""
        return self._http

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL operation and return its `data`, waiting out throttles."""
        failures = 0
        throttle_waits = 0
        payload = {"query": query, "variables": dict(variables or {})}
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}

        while True:
            try:
                response = self._http.post(self.endpoint, json=payload, headers=headers)
            except httpx.TransportError as error:
                failures += 1
                self._back_off(failures, f"network error {type(error).__name__}")
                continue

            status = response.status_code
            if status in (401, 403):
                self._auth_failed(status)
            if status == 429:
                throttle_waits += 1
                self._check_throttle_budget(throttle_waits)
                wait = _retry_after(response) or self._backoff_delay(throttle_waits)
                logger.info("shop %s: HTTP 429, waiting %.2f s", self.shop_domain, wait)
                self.sleep(wait)
                continue
            if status >= 500:
                failures += 1
                self._back_off(failures, f"HTTP {status}")
                continue
            if status >= 400:
                raise ShopifyError(
                    f"Shopify answered HTTP {status} to a GraphQL request; check the API "
                    f"version ({self.api_version}) and the store address ({self.shop_domain})."
                )

            body = response.json()
            throttle = _throttle_status(body)
            if throttle is not None:
                self.last_throttle_status = throttle
            errors = body.get("errors") or []
            if errors and _is_throttled(errors):
                throttle_waits += 1
                self._check_throttle_budget(throttle_waits)
                wait = self._throttle_wait(throttle)
                logger.info("shop %s: throttled, waiting %.2f s", self.shop_domain, wait)
                self.sleep(wait)
                continue
            if errors:
                messages = "; ".join(str(e.get("message")) for e in errors[:5])
                raise ShopifyGraphQLError(f"Shopify rejected the query: {messages}", errors)
            return dict(body.get("data") or {})

    def mutate(
        self, query: str, variables: Mapping[str, Any] | None, root_field: str
    ) -> dict[str, Any]:
        """Run a mutation and return its payload, raising `ShopifyUserError` on userErrors."""
        data = self.graphql(query, variables)
        payload = data.get(root_field) or {}
        raise_for_user_errors(root_field, payload)
        return dict(payload)

    def paginate(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        path: str | list[str],
    ) -> Iterator[dict[str, Any]]:
        """Yield every node of the connection at `path`, following `pageInfo.endCursor`.

        The query must take `$after: String` and select `pageInfo { hasNextPage endCursor }`
        and either `edges { node {…} }` or `nodes {…}` on that connection.
        """
        keys = path.split(".") if isinstance(path, str) else list(path)
        current = dict(variables or {})
        pages = 0
        while True:
            data = self.graphql(query, current)
            connection: Any = data
            for key in keys:
                connection = (connection or {}).get(key)
            if connection is None:
                return
            pages += 1
            if "edges" in connection:
                for edge in connection["edges"]:
                    yield edge["node"]
            else:
                yield from connection.get("nodes") or []
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                logger.debug("shop %s: %s done after %d pages", self.shop_domain, path, pages)
                return
            current["after"] = info["endCursor"]

    def count(self, field: str, query: str | None = None) -> int:
        """Exact count from a `*Count` root field (`customersCount`, `ordersCount`, ...)."""
        data = self.graphql(COUNT_QUERY.format(field=field), {"q": query})
        return int((data.get(field) or {}).get("count") or 0)

    def count_customers(self, query: str | None = None) -> int:
        return self.count("customersCount", query)

    def count_orders(self, query: str | None = None) -> int:
        return self.count("ordersCount", query)

    def count_products(self, query: str | None = None) -> int:
        return self.count("productsCount", query)

    def shop_info(self) -> dict[str, Any]:
        """The store's name, timezone and currency."""
        return dict(self.graphql(SHOP_QUERY).get("shop") or {})

    def _auth_failed(self, status: int) -> None:
        reason = REVOKED_REASON if status == 401 else FORBIDDEN_REASON
        logger.warning("shop %s: HTTP %d, access token refused", self.shop_domain, status)
        if self.on_auth_failure is not None:
            self.on_auth_failure(reason)
        raise ShopifyAuthError(reason, status)

    def _backoff_delay(self, attempt: int) -> float:
        return float(min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1))))

    def _back_off(self, failures: int, what: str) -> None:
        if failures > self.max_retries:
            raise ShopifyUnavailableError(
                f"Shopify did not answer properly after {self.max_retries} retries ({what}). "
                "Shopify may be having an outage; the sync will be retried later."
            )
        delay = self._backoff_delay(failures)
        logger.info("shop %s: %s, retry %d in %.2f s", self.shop_domain, what, failures, delay)
        self.sleep(delay)

    def _check_throttle_budget(self, waits: int) -> None:
        if waits > self.max_throttle_waits:
            raise ShopifyThrottledError(
                f"Shopify throttled {self.max_throttle_waits} requests in a row; another app may "
                "be using this store's API budget. The sync will be retried later."
            )

    def _throttle_wait(self, throttle: ThrottleStatus | None) -> float:
        if throttle is None or throttle.restore_rate <= 0:
            return 1.0
        requested = throttle.requested_cost or throttle.maximum_available
        if requested > throttle.maximum_available:
            raise ShopifyThrottledError(
                f"The query costs {requested:.0f} points but the store's bucket holds only "
                f"{throttle.maximum_available:.0f}; ask for fewer records per page."
            )
        deficit = max(0.0, requested - throttle.currently_available)
        return max(deficit / throttle.restore_rate, 0.01)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
