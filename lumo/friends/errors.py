"""Errors of the friends feature; each message tells the merchant what to do next."""

from __future__ import annotations


class FriendsError(Exception):
    """Base of every friends-feature error."""


class FriendNotFound(FriendsError, LookupError):
    """No such friend in this workspace (friends of other workspaces are never found)."""

    def __init__(self, friend_id: int | str) -> None:
        super().__init__(f"There is no friend {friend_id} in this workspace.")
        self.friend_id = friend_id


class LumoTagError(FriendsError, ValueError):
    """A Lumo tag request that cannot be carried out as asked."""


class LumoTagNotFound(LumoTagError, LookupError):
    def __init__(self, lumo_tag: int | str) -> None:
        super().__init__(f"There is no Lumo tag {lumo_tag!r} in this workspace.")
        self.lumo_tag = lumo_tag


class LumoTagNameInvalid(LumoTagError):
    """The name is empty or too long once trimmed."""


class LumoTagNameTaken(LumoTagError):
    """Another Lumo tag of the workspace has this name (case does not matter)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A Lumo tag named {name!r} already exists (names ignore case); pick another name "
            "or use the existing Lumo tag."
        )
        self.name = name


class LinkRefused(FriendsError):
    """A link between a friend and a Shopify customer was refused; nothing was linked."""


class LineNotConfigured(FriendsError):
    """The workspace has no LINE channel access token or secret yet."""


class ShopifyNotConnected(FriendsError):
    """The workspace has no connected Shopify store to write to."""
