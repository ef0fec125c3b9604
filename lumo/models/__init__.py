"""Lumo's tables. Every table carries `workspace_id`: nothing is shared between workspaces."""

from lumo.models.agent import AgentConversation, AgentMessage, GlossaryEntry
from lumo.models.friends import (
    CustomerFriendLink,
    FriendLumoTag,
    LineFriend,
    LineMessage,
    LinkNonce,
    LumoTag,
    WriteBack,
)
from lumo.models.rejected import RejectedRecord
from lumo.models.segments import Segment
from lumo.models.shopify_data import (
    AbandonedCheckout,
    Cart,
    Customer,
    CustomerTag,
    Order,
    OrderLineItem,
    Product,
)
from lumo.models.sync import PropertySetting, RedactedCustomer, SyncRun, WebhookDelivery
from lumo.models.workspace import Account, ShopifyConnection, Workspace

__all__ = [
    "AbandonedCheckout",
    "Account",
    "AgentConversation",
    "AgentMessage",
    "Cart",
    "Customer",
    "CustomerFriendLink",
    "CustomerTag",
    "FriendLumoTag",
    "GlossaryEntry",
    "LineFriend",
    "LineMessage",
    "LinkNonce",
    "LumoTag",
    "Order",
    "OrderLineItem",
    "Product",
    "PropertySetting",
    "RedactedCustomer",
    "RejectedRecord",
    "Segment",
    "ShopifyConnection",
    "SyncRun",
    "WebhookDelivery",
    "Workspace",
    "WriteBack",
]
