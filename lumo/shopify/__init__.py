"""Lumo's Shopify Admin API client: GraphQL, bulk operations, OAuth, webhooks, metafields."""

from lumo.shopify.client import ShopifyClient
from lumo.shopify.errors import (
    BulkOperationBusyError,
    BulkOperationError,
    InvalidShopDomainError,
    MissingScopesError,
    OAuthError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyThrottledError,
    ShopifyUnavailableError,
    ShopifyUserError,
    TruncatedBulkResultError,
)

__all__ = [
    "BulkOperationBusyError",
    "BulkOperationError",
    "InvalidShopDomainError",
    "MissingScopesError",
    "OAuthError",
    "ShopifyAuthError",
    "ShopifyClient",
    "ShopifyError",
    "ShopifyGraphQLError",
    "ShopifyThrottledError",
    "ShopifyUnavailableError",
    "ShopifyUserError",
    "TruncatedBulkResultError",
]
