"""Exceptions raised by Lumo's Shopify client; each message says what to do next."""

from __future__ import annotations

from typing import Any


class ShopifyError(Exception):
    """Something went wrong talking to Shopify."""


class ShopifyAuthError(ShopifyError):
    """The store refused the access token (HTTP 401/403); the store must be reconnected."""

    def __init__(self, reason: str, status_code: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class ShopifyThrottledError(ShopifyError):
    """Shopify kept throttling after every retry Lumo was allowed to make."""


class ShopifyUnavailableError(ShopifyError):
    """Shopify answered 5xx, 429 or not at all, more times than the retry budget allows."""


class ShopifyGraphQLError(ShopifyError):
    """The GraphQL response carried top-level `errors` (a malformed or forbidden query)."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors

    @property
    def codes(self) -> set[str]:
        return {str((e.get("extensions") or {}).get("code")) for e in self.errors}


class ShopifyUserError(ShopifyError):
    """A mutation answered with `userErrors`: Shopify refused the input."""

    def __init__(self, operation: str, user_errors: list[dict[str, Any]]) -> None:
        summary = "; ".join(str(e.get("message")) for e in user_errors[:5])
        super().__init__(f"Shopify refused {operation}: {summary}")
        self.operation = operation
        self.user_errors = user_errors


class BulkOperationError(ShopifyError):
    """A bulk operation ended FAILED, CANCELED or EXPIRED, or could not be started."""

    def __init__(self, message: str, *, status: str | None = None, error_code: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class BulkOperationBusyError(BulkOperationError):
    """Another bulk query is already running for this app and store."""


class TruncatedBulkResultError(BulkOperationError):
    """The downloaded JSONL held fewer objects than Shopify said the operation produced."""


class OAuthError(ShopifyError):
    """An install or OAuth callback request failed a check; the install must start again."""


class InvalidShopDomainError(OAuthError):
    """The shop parameter is not a `*.myshopify.com` domain."""


class MissingScopesError(OAuthError):
    """The merchant granted fewer access scopes than Lumo asked for."""

    def __init__(self, missing: set[str]) -> None:
        names = ", ".join(sorted(missing))
        super().__init__(
            f"The store granted fewer permissions than Lumo needs (missing: {names}). "
            "Reinstall the app from Integrations → Shopify and approve every permission."
        )
        self.missing = missing
