"""In-memory state of the LINE stand-in: friends, tokens, sent messages and fault switches."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LINK_TOKEN_TTL_SECONDS = 600
REPLY_TOKEN_TTL_SECONDS = 60

_JA_FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
_JA_GIVEN = ["花子", "太郎", "美咲", "健太", "さくら", "翔", "結衣", "大輔", "陽菜", "蓮"]
_EN_GIVEN = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Mia", "Lucas"]
_EN_FAMILY = ["Wilson", "Smith", "Brown", "Johnson", "Taylor", "Clark"]


def demo_friend_user_id(index: int) -> str:
    """The stable user id of seeded demo friend `index`, so other stand-ins can refer to it."""
    return "U" + hashlib.sha256(f"lumo-sandbox-friend-{index}".encode()).hexdigest()[:32]


def demo_friend_profile(index: int) -> tuple[str, str | None]:
    """Display name and language of demo friend `index`: mostly Japanese, every 4th English."""
    if index % 4 == 3:
        given = _EN_GIVEN[index % len(_EN_GIVEN)]
        family = _EN_FAMILY[(index // len(_EN_GIVEN)) % len(_EN_FAMILY)]
        name, language = f"{given} {family}", "en"
    else:
        family = _JA_FAMILY[index % len(_JA_FAMILY)]
        given = _JA_GIVEN[(index // len(_JA_FAMILY) + index) % len(_JA_GIVEN)]
        name, language = f"{family} {given}", "ja"
    # Users who have not accepted LINE's privacy policy have no language in their profile.
    return name, (None if index % 11 == 10 else language)


@dataclass
class SandboxFriend:
    """A LINE user known to the stand-in; `blocked` users get 404 profiles and no messages."""

    user_id: str
    display_name: str
    language: str | None = "ja"
    has_picture: bool = True
    status_message: str | None = None
    blocked: bool = False


@dataclass(frozen=True)
class RecordedMessage:
    """One send to one recipient, as the stand-in accepted it."""

    kind: str
    to: str
    messages: list[dict[str, Any]]
    request_id: str
    retry_key: str | None
    delivered: bool
    message_ids: list[str]

    @property
    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.messages if m.get("type") == "text"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    status: int
    request_id: str
    retry_key: str | None


@dataclass
class IssuedToken:
    """A link or reply token: who it was issued for, when, and whether it was used."""

    token: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class ApiFault:
    """Make the next `remaining` API calls fail (`status`), hang (`delay`), or both.

    With `after_accepting` the call is processed first, so a retry meets the retry key;
    `skip` lets that many matching calls through first (e.g. fail only the second chunk).
    """

    remaining: int
    status: int | None = None
    delay: float = 0.0
    after_accepting: bool = False
    message: str | None = None
    path_prefix: str | None = None
    skip: int = 0


@dataclass
class WebhookSwitches:
    """Counters for the next deliveries: wrong signature, sent twice, followed by a redelivery."""

    bad_signature: int = 0
    duplicate: int = 0
    redeliver: int = 0


@dataclass
class LineSandboxState:
    """Everything the stand-in remembers; every method is safe to call from any thread."""

    bot_user_id: str = field(default_factory=lambda: "U" + uuid.uuid4().hex)
    clock: Callable[[], float] = time.time
    friends: dict[str, SandboxFriend] = field(default_factory=dict)
    link_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    reply_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    accepted_retry_keys: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    sent: list[RecordedMessage] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[ApiFault] = field(default_factory=list)
    webhook_switches: WebhookSwitches = field(default_factory=WebhookSwitches)
    followers_forbidden: bool = False
    followers_page_cap: int | None = None
    _message_counter: int = 480_000_000_000_000_000
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- friends -----------------------------------------------------------------------------

    def add_friend(
        self,
        user_id: str | None = None,
        *,
        display_name: str | None = None,
        language: str | None = None,
        has_picture: bool = True,
        status_message: str | None = None,
    ) -> SandboxFriend:
        """Add (or un-block) a following friend without sending any webhook.

        Without a display name a demo name is generated (with its language unless one is given).
        """
        with self.lock:
            user_id = user_id or "U" + uuid.uuid4().hex
            friend = self.friends.get(user_id)
            if friend is None:
                number = len(self.friends)
                default_name, default_language = demo_friend_profile(number)
                friend = SandboxFriend(
                    user_id=user_id,
                    display_name=display_name or default_name,
                    language=language or (default_language if display_name is None else "ja"),
                    has_picture=has_picture,
                    status_message=status_message,
                )
                self.friends[user_id] = friend
            else:
                friend.display_name = display_name or friend.display_name
                friend.blocked = False
            return friend

    def seed_demo_friends(self, count: int) -> list[SandboxFriend]:
        """Add demo friends 0..count-1 with stable ids, Japanese and English names."""
        seeded = []
        with self.lock:
            for index in range(count):
                name, language = demo_friend_profile(index)
                user_id = demo_friend_user_id(index)
                friend = self.friends.get(user_id) or SandboxFriend(
                    user_id=user_id,
                    display_name=name,
                    language=language,
                    has_picture=index % 7 != 6,
                )
                self.friends[user_id] = friend
                seeded.append(friend)
        return seeded

    def friend(self, user_id: str) -> SandboxFriend | None:
        with self.lock:
            return self.friends.get(user_id)

    def following_ids(self) -> list[str]:
        with self.lock:
            return [f.user_id for f in self.friends.values() if not f.blocked]

    # -- tokens ------------------------------------------------------------------------------

    def issue_link_token(self, user_id: str) -> str | None:
        """Issue a 10-minute single-use link token, or None when the user is not a friend."""
        with self.lock:
            friend = self.friends.get(user_id)
            if friend is None or friend.blocked:
                return None
            token = secrets.token_urlsafe(24)
            self.link_tokens[token] = IssuedToken(token, user_id, self.clock())
            return token

    def consume_link_token(self, token: str) -> IssuedToken | None:
        """Use a link token once; None when unknown, expired or already used."""
        with self.lock:
            issued = self.link_tokens.get(token)
            if issued is None or issued.used:
                return None
            if self.clock() - issued.issued_at > LINK_TOKEN_TTL_SECONDS:
                return None
            issued.used = True
            return issued

    def issue_reply_token(self, user_id: str) -> str:
        with self.lock:
            token = uuid.uuid4().hex
            self.reply_tokens[token] = IssuedToken(token, user_id, self.clock())
            return token

    def use_reply_token(self, token: str) -> IssuedToken | None:
        """Use a reply token once within a minute; None means 'Invalid reply token'."""
        with self.lock:
            issued = self.reply_tokens.get(token)
            if issued is None or issued.used:
                return None
            if self.clock() - issued.issued_at > REPLY_TOKEN_TTL_SECONDS:
                return None
            issued.used = True
            return issued

    # -- sends -------------------------------------------------------------------------------

    def accepted(self, retry_key: str) -> tuple[str, dict[str, Any]] | None:
        """The request id and body of the request that was accepted with this retry key."""
        with self.lock:
            return self.accepted_retry_keys.get(retry_key)

    def accept_retry_key(self, retry_key: str, request_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.accepted_retry_keys.setdefault(retry_key, (request_id, body))

    def record_send(
        self,
        kind: str,
        to: str,
        messages: list[dict[str, Any]],
        request_id: str,
        retry_key: str | None,
    ) -> RecordedMessage:
        """Record one recipient's copy; blocked or unknown users are recorded undelivered."""
        with self.lock:
            friend = self.friends.get(to)
            ids = [self.next_message_id() for _ in messages]
            record = RecordedMessage(
                kind=kind,
                to=to,
                messages=messages,
                request_id=request_id,
                retry_key=retry_key,
                delivered=friend is not None and not friend.blocked,
                message_ids=ids,
            )
            self.sent.append(record)
            return record

    def next_message_id(self) -> str:
        """Message ids are digit strings, as LINE sends them."""
        with self.lock:
            self._message_counter += 1
            return str(self._message_counter)

    def set_blocked(self, user_id: str, blocked: bool) -> bool:
        """Block or unblock a known friend; returns whether the friend was blocked before."""
        with self.lock:
            friend = self.friends[user_id]
            was_blocked = friend.blocked
            friend.blocked = blocked
            return was_blocked

    def record_request(self, record: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(record)

    # -- fault switches ----------------------------------------------------------------------

    def add_fault(self, fault: ApiFault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, path: str) -> ApiFault | None:
        """Consume one use of the first fault that applies to `path`."""
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and path.startswith(fault.path_prefix or ""):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.remaining -= 1
                    return fault
            self.faults = [f for f in self.faults if f.remaining > 0]
            return None

    def take_webhook_switches(self) -> tuple[bool, bool, bool]:
        """Consume the switches for one delivery: (bad signature, duplicate, redeliver)."""
        with self.lock:
            switches = self.webhook_switches
            taken = (switches.bad_signature > 0, switches.duplicate > 0, switches.redeliver > 0)
            switches.bad_signature = max(0, switches.bad_signature - 1)
            switches.duplicate = max(0, switches.duplicate - 1)
            switches.redeliver = max(0, switches.redeliver - 1)
            return taken

    def reset_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.webhook_switches = WebhookSwitches()
            self.followers_forbidden = False
            self.followers_page_cap = None
