"""Writing metafields (Lumo's LINE status) onto Shopify customers with `metafieldsSet`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from lumo.shopify.client import ShopifyClient
from lumo.shopify.errors import ShopifyUserError

logger = logging.getLogger(__name__)

MAX_PER_CALL = 25
SET_MUTATION = """
mutation($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key value type updatedAt owner { ... on Customer { id } } }
    userErrors { field message code elementIndex }
  }
}
"""


def set_metafields(
    client: ShopifyClient, inputs: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Upsert metafields, 25 per call; return what Shopify stored.

    Each call is atomic on Shopify's side, but calls are not: when a later chunk is refused,
    earlier chunks stay written. The raised `ShopifyUserError` has `elementIndex` values
    rewritten to positions in `inputs`.
    """
    stored: list[dict[str, Any]] = []
    for start in range(0, len(inputs), MAX_PER_CALL):
        chunk = [dict(item) for item in inputs[start : start + MAX_PER_CALL]]
        data = client.graphql(SET_MUTATION, {"metafields": chunk})
        payload = data.get("metafieldsSet") or {}
        errors = payload.get("userErrors") or []
        if errors:
            shifted = []
            for error in errors:
                error = dict(error)
                if error.get("elementIndex") is not None:
                    error["elementIndex"] = int(error["elementIndex"]) + start
                shifted.append(error)
            raise ShopifyUserError("metafieldsSet", shifted)
        stored.extend(payload.get("metafields") or [])
    logger.info("shop %s: %d metafields set", client.shop_domain, len(stored))
    return stored
