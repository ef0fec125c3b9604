"""A local stand-in for the LINE Platform: Messaging API paths, signed webhooks, link dialog."""

from __future__ import annotations

import base64
import html
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from lumo.sandbox.line_state import (
    ApiFault,
    LineSandboxState,
    RecordedMessage,
    RecordedRequest,
    SandboxFriend,
)
from lumo.sandbox.line_webhooks import (
    WebhookDelivery,
    as_redelivery,
    build_event,
    check_webhook_url,
    encode_body,
    post_webhook,
    signature_for,
)
from lumo.sandbox.serving import RunningServer, serve_wsgi

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_MULTICAST = 500
MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_ALT_TEXT = 400
DEFAULT_FOLLOWER_LIMIT = 300
MAX_FOLLOWER_LIMIT = 1000
MESSAGE_TYPES = [
    "text",
    "textV2",
    "image",
    "video",
    "audio",
    "location",
    "sticker",
    "imagemap",
    "template",
    "flex",
    "coupon",
]
AUTH_FAILED = (
    "Authentication failed due to the following reason: invalid token. Confirm that the "
    "access token in the authorization header is valid."
)
FAULT_MESSAGES = {429: "Too many requests", 500: "Internal server error"}

_ROUTES = Map(
    [
        Rule("/v2/bot/info", methods=["GET"], endpoint="bot_info"),
        Rule("/v2/bot/profile/<user_id>", methods=["GET"], endpoint="profile"),
        Rule("/v2/bot/followers/ids", methods=["GET"], endpoint="follower_ids"),
        Rule("/v2/bot/user/<user_id>/linkToken", methods=["POST"], endpoint="link_token"),
        Rule("/v2/bot/message/reply", methods=["POST"], endpoint="reply"),
        Rule("/v2/bot/message/push", methods=["POST"], endpoint="push"),
        Rule("/v2/bot/message/multicast", methods=["POST"], endpoint="multicast"),
        Rule("/v2/bot/channel/webhook/endpoint", methods=["GET", "PUT"], endpoint="webhook"),
        Rule("/dialog/bot/accountLink", methods=["GET"], endpoint="dialog"),
        Rule("/_sandbox/friends", methods=["GET", "POST"], endpoint="admin_friends"),
        Rule("/_sandbox/follow", methods=["POST"], endpoint="admin_follow"),
        Rule("/_sandbox/unfollow", methods=["POST"], endpoint="admin_unfollow"),
        Rule("/_sandbox/message", methods=["POST"], endpoint="admin_message"),
        Rule("/_sandbox/account_link", methods=["POST"], endpoint="admin_account_link"),
        Rule("/_sandbox/redeliver", methods=["POST"], endpoint="admin_redeliver"),
        Rule("/_sandbox/faults", methods=["POST", "DELETE"], endpoint="admin_faults"),
        Rule("/_sandbox/reset", methods=["POST"], endpoint="admin_reset"),
        Rule("/_sandbox/messages", methods=["GET"], endpoint="admin_messages"),
        Rule("/_sandbox/webhooks", methods=["GET"], endpoint="admin_webhooks"),
        Rule("/_sandbox/pictures/<user_id>.svg", methods=["GET"], endpoint="picture"),
    ]
)


class SandboxError(Exception):
    """A stand-in action that LINE itself would refuse (e.g. a used link token)."""


class LineSandbox:
    """The LINE stand-in: its state, its HTTP server and the Python side of its admin API."""

    def __init__(
        self,
        *,
        channel_secret: str,
        channel_access_token: str,
        webhook_url: str | None = None,
        state: LineSandboxState | None = None,
    ) -> None:
        self.channel_secret = channel_secret
        self.channel_access_token = channel_access_token
        self.state = state or LineSandboxState()
        self.webhook_url = check_webhook_url(webhook_url) if webhook_url else None
        self.deliveries: list[WebhookDelivery] = []
        self.url = ""
        self._events: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0))
        self._server: RunningServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> LineSandbox:
        """Serve on host:port (loopback only; port 0 picks a free one) in a daemon thread."""
        self._server = serve_wsgi(self.wsgi_app, host, port, name="LINE stand-in")
        self.url = self._server.url
        return self

    def stop(self) -> None:
        """Stop serving and close the webhook client."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._http.close()

    def reset(self, *, demo_friends: int = 0) -> None:
        """Forget friends, tokens, messages, deliveries, switches and the webhook URL."""
        with self._lock:
            self.state = LineSandboxState(bot_user_id=self.state.bot_user_id)
            self.deliveries = []
            self._events = {}
            self.webhook_url = None
        if demo_friends:
            self.seed_demo_friends(demo_friends)

    def __enter__(self) -> LineSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def bot_user_id(self) -> str:
        """The bot's own user id, sent as `destination` in every webhook body."""
        return self.state.bot_user_id

    def set_webhook_url(self, url: str | None) -> None:
        self.webhook_url = check_webhook_url(url) if url else None

    # -- friends and events ------------------------------------------------------------------

    def add_friend(self, user_id: str | None = None, **profile: Any) -> SandboxFriend:
        """Make someone a friend silently (no webhook), e.g. friends from before Lumo."""
        return self.state.add_friend(user_id, **profile)

    def seed_demo_friends(self, count: int) -> list[SandboxFriend]:
        return self.state.seed_demo_friends(count)

    def friends(self) -> list[SandboxFriend]:
        with self.state.lock:
            return list(self.state.friends.values())

    def follow(self, user_id: str | None = None, **profile: Any) -> list[WebhookDelivery]:
        """The user adds the account (or unblocks it): a signed `follow` event."""
        existing = self.state.friend(user_id) if user_id else None
        unblocked = existing is not None and self.state.set_blocked(existing.user_id, False)
        friend = existing or self.state.add_friend(user_id, **profile)
        event = build_event(
            "follow",
            friend.user_id,
            reply_token=self.state.issue_reply_token(friend.user_id),
            extra={"follow": {"isUnblocked": unblocked}},
        )
        return self.deliver([event])

    def unfollow(self, user_id: str) -> list[WebhookDelivery]:
        """The user blocks the account: a signed `unfollow` event (no reply token)."""
        self._known(user_id)
        self.state.set_blocked(user_id, True)
        return self.deliver([build_event("unfollow", user_id)])

    def message(self, user_id: str, text: str) -> list[WebhookDelivery]:
        """The user sends a text message: a signed `message` event."""
        self._known(user_id)
        content = {
            "id": self.state.next_message_id(),
            "type": "text",
            "text": text,
            "quoteToken": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
        }
        event = build_event(
            "message",
            user_id,
            reply_token=self.state.issue_reply_token(user_id),
            extra={"message": content},
        )
        return self.deliver([event])

    def issue_link_token(self, user_id: str) -> str:
        """Same as the HTTP endpoint, for tests that do not go through the client."""
        token = self.state.issue_link_token(user_id)
        if token is None:
            raise SandboxError(f"{user_id} is not a following friend; no link token.")
        return token

    def account_link(
        self, user_id: str, link_token: str, nonce: str, result: str = "ok"
    ) -> list[WebhookDelivery]:
        """The user confirms the link dialog: a signed `accountLink` event.

        The token is consumed (single use). An unknown, used or expired token sends nothing
        and raises, as LINE shows an error page then. A token issued for another user, or
        `result="failed"`, gives a failed event without `source` and `replyToken`.
        """
        issued = self.state.consume_link_token(link_token)
        if issued is None:
            raise SandboxError("The link token is unknown, expired or already used.")
        if result == "ok" and issued.user_id == user_id:
            event = build_event(
                "accountLink",
                user_id,
                reply_token=self.state.issue_reply_token(user_id),
                extra={"link": {"result": "ok", "nonce": nonce}},
            )
        else:
            event = build_event(
                "accountLink", None, extra={"link": {"result": "failed", "nonce": nonce}}
            )
        return self.deliver([event])

    # -- webhook delivery --------------------------------------------------------------------

    def deliver(self, events: list[dict[str, Any]]) -> list[WebhookDelivery]:
        """POST events in one signed body, applying the webhook switches."""
        with self._lock:
            for event in events:
                self._events[event["webhookEventId"]] = event
        bad_signature, duplicate, redeliver = self.state.take_webhook_switches()

        deliveries = [self._post(events, wrong_signature=bad_signature)]
        if duplicate:
            deliveries.append(self._post(events, wrong_signature=bad_signature))
        if redeliver:
            deliveries.append(self._post(as_redelivery(events), wrong_signature=False))
        return deliveries

    def redeliver(self, webhook_event_id: str) -> WebhookDelivery:
        """Send an earlier event again, marked `isRedelivery: true`, byte-identical otherwise."""
        with self._lock:
            event = self._events.get(webhook_event_id)
        if event is None:
            raise SandboxError(f"No event {webhook_event_id} was sent by this stand-in.")
        return self._post(as_redelivery([event]), wrong_signature=False)

    def redeliver_failed(self) -> list[WebhookDelivery]:
        """Redeliver every event whose latest delivery was not answered with 2xx."""
        latest: dict[str, WebhookDelivery] = {}
        with self._lock:
            for delivery in self.deliveries:
                for event_id in delivery.event_ids:
                    latest[event_id] = delivery
        return [self.redeliver(eid) for eid, d in latest.items() if not d.ok]

    def _post(self, events: list[dict[str, Any]], *, wrong_signature: bool) -> WebhookDelivery:
        body = encode_body(self.bot_user_id, events)
        signature = signature_for(self.channel_secret, body, wrong=wrong_signature)
        url = self.webhook_url
        status: int | None = None
        error: str | None = "no webhook URL set"
        if url:
            status, error = post_webhook(self._http, url, body, signature)
        with self._lock:
            delivery = WebhookDelivery(
                number=len(self.deliveries) + 1,
                url=url,
                events=events,
                body=body,
                signature=signature,
                signature_valid=not wrong_signature,
                is_redelivery=any(e["deliveryContext"]["isRedelivery"] for e in events),
                status_code=status,
                error=error,
            )
            self.deliveries.append(delivery)
        logger.info(
            "LINE stand-in webhook %d: %d event(s), status %s%s",
            delivery.number,
            len(events),
            status,
            f" ({error})" if error else "",
        )
        return delivery

    # -- switches and records ----------------------------------------------------------------

    def fail_next_requests(
        self,
        count: int = 1,
        status: int | None = 429,
        *,
        delay: float = 0.0,
        after_accepting: bool = False,
        message: str | None = None,
        path_prefix: str | None = None,
        skip: int = 0,
    ) -> None:
        """Make the next `count` API calls (optionally only under `path_prefix`) fail or hang.

        `after_accepting=True` processes the call first (messages recorded, retry key kept),
        then answers `status` or hangs for `delay` seconds: a lost response.
        """
        fault = ApiFault(count, status, delay, after_accepting, message, path_prefix, skip)
        self.state.add_fault(fault)

    def bad_signature_next_webhooks(self, count: int = 1) -> None:
        with self.state.lock:
            self.state.webhook_switches.bad_signature += count

    def duplicate_next_webhooks(self, count: int = 1) -> None:
        with self.state.lock:
            self.state.webhook_switches.duplicate += count

    def redeliver_next_webhooks(self, count: int = 1) -> None:
        with self.state.lock:
            self.state.webhook_switches.redeliver += count

    def reset_faults(self) -> None:
        self.state.reset_faults()

    def sent_messages(
        self, user_id: str | None = None, kind: str | None = None
    ) -> list[RecordedMessage]:
        """Every message copy accepted so far, oldest first, filtered by recipient or kind."""
        with self.state.lock:
            return [
                m
                for m in self.state.sent
                if (user_id is None or m.to == user_id) and (kind is None or m.kind == kind)
            ]

    def requests(self, path_prefix: str = "") -> list[RecordedRequest]:
        with self.state.lock:
            return [r for r in self.state.requests if r.path.startswith(path_prefix)]

    def _known(self, user_id: str) -> SandboxFriend:
        friend = self.state.friend(user_id)
        if friend is None:
            raise SandboxError(f"{user_id} is not known to the LINE stand-in; follow() first.")
        return friend

    # -- WSGI --------------------------------------------------------------------------------

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = _Handlers(self, request).dispatch()
        return response(environ, start_response)


class _Handlers:
    """Handles one request against the stand-in's state."""

    def __init__(self, sandbox: LineSandbox, request: Request) -> None:
        self.sandbox = sandbox
        self.state = sandbox.state
        self.request = request
        self.request_id = str(uuid.uuid4())
        self.retry_key = request.headers.get("X-Line-Retry-Key")

    def dispatch(self) -> Response:
        path = self.request.path
        adapter = _ROUTES.bind_to_environ(self.request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException as exc:
            status = 404 if isinstance(exc, NotFound) else exc.code or 400
            response = _json({"message": "Not found" if status == 404 else exc.name}, status)
            if path.startswith("/v2/"):
                response.headers["X-Line-Request-Id"] = self.request_id
            return response
        handler = getattr(self, endpoint)
        if not path.startswith("/v2/"):
            return handler(**args)  # type: ignore[no-any-return]

        response = self._api(handler, args, path)
        response.headers["X-Line-Request-Id"] = self.request_id
        self.state.record_request(
            RecordedRequest(
                self.request.method, path, response.status_code, self.request_id, self.retry_key
            )
        )
        return response

    def _api(
        self, handler: Callable[..., Response], args: Mapping[str, Any], path: str
    ) -> Response:
        if self.request.headers.get("Authorization") != (
            f"Bearer {self.sandbox.channel_access_token}"
        ):
            return _json({"message": AUTH_FAILED}, 401)
        if (self.request.content_length or 0) > MAX_BODY_BYTES:
            return _json({"message": "Request Entity Too Large"}, 413)

        fault = self.state.take_fault(path)
        if fault is not None and not fault.after_accepting:
            time.sleep(fault.delay)
            if fault.status:
                return _fault_response(fault.status, fault.message)
        response: Response = handler(**args)
        if fault is not None and fault.after_accepting:
            time.sleep(fault.delay)
            if fault.status:
                return _fault_response(fault.status, fault.message)
        return response

    # -- Messaging API -----------------------------------------------------------------------

    def bot_info(self) -> Response:
        return _json(
            {
                "userId": self.sandbox.bot_user_id,
                "basicId": "@lumo-sandbox",
                "displayName": "Lumo Sandbox Shop",
                "chatMode": "bot",
                "markAsReadMode": "manual",
            }
        )

    def profile(self, user_id: str) -> Response:
        if not _is_user_id(user_id):
            return _json({"message": "The value for the 'userId' parameter is invalid"}, 400)
        friend = self.state.friend(user_id)
        if friend is None or friend.blocked:
            return _json({"message": "Not found"}, 404)
        data: dict[str, Any] = {"userId": friend.user_id, "displayName": friend.display_name}
        if friend.language:
            data["language"] = friend.language
        if friend.has_picture:
            data["pictureUrl"] = f"{self.request.host_url}_sandbox/pictures/{user_id}.svg"
        if friend.status_message:
            data["statusMessage"] = friend.status_message
        return _json(data)

    def follower_ids(self) -> Response:
        if self.state.followers_forbidden:
            return _json({"message": "Access to this API is not available for your account"}, 403)
        try:
            limit = int(self.request.args.get("limit", DEFAULT_FOLLOWER_LIMIT))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_FOLLOWER_LIMIT:
            return _json({"message": "Invalid limit param"}, 400)
        offset = _decode_start(self.request.args.get("start"))
        if offset is None:
            return _json({"message": "Invalid start param"}, 400)

        ids = self.state.following_ids()
        page_size = min(limit, self.state.followers_page_cap or limit)
        page = ids[offset : offset + page_size]
        data: dict[str, Any] = {"userIds": page}
        if offset + page_size < len(ids):
            data["next"] = _encode_start(offset + page_size)
        return _json(data)

    def link_token(self, user_id: str) -> Response:
        token = self.state.issue_link_token(user_id) if _is_user_id(user_id) else None
        if token is None:
            return _json({"message": "Not found"}, 404)
        return _json({"linkToken": token})

    def reply(self) -> Response:
        body, error = self._body()
        if error is not None:
            return error
        if self.retry_key is not None:
            return _json({"message": "The retry key is not supported for this request"}, 400)
        problems = _message_problems(body.get("messages"))
        if problems:
            return _validation_error(problems)
        issued = self.state.use_reply_token(str(body.get("replyToken") or ""))
        if issued is None:
            return _json({"message": "Invalid reply token"}, 400)
        record = self.state.record_send(
            "reply", issued.user_id, body["messages"], self.request_id, None
        )
        return _json({"sentMessages": _sent_messages(record)})

    def push(self) -> Response:
        body, error = self._body()
        if error is not None:
            return error
        conflict = self._retry_conflict(include_sent=True)
        if conflict is not None:
            return conflict
        problems = _message_problems(body.get("messages"))
        if problems:
            return _validation_error(problems)
        to = body.get("to")
        if not isinstance(to, str) or not _is_user_id(to):
            return _invalid_property("to")
        if self.state.friend(to) is None:
            return _json({"message": "Failed to send messages"}, 400)

        record = self.state.record_send(
            "push", to, body["messages"], self.request_id, self.retry_key
        )
        result = {"sentMessages": _sent_messages(record)}
        if self.retry_key:
            self.state.accept_retry_key(self.retry_key, self.request_id, result)
        return _json(result)

    def multicast(self) -> Response:
        body, error = self._body()
        if error is not None:
            return error
        conflict = self._retry_conflict(include_sent=False)
        if conflict is not None:
            return conflict
        problems = _message_problems(body.get("messages"))
        to = body.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_MULTICAST:
            problems.append(("Size must be between 1 and 500", "to"))
            to = []
        if problems:
            return _validation_error(problems)
        for index, user_id in enumerate(to):
            if not isinstance(user_id, str) or not _is_user_id(user_id):
                return _invalid_property(f"to[{index}]")

        for user_id in to:
            self.state.record_send(
                "multicast", user_id, body["messages"], self.request_id, self.retry_key
            )
        if self.retry_key:
            self.state.accept_retry_key(self.retry_key, self.request_id, {})
        return _json({})

    def webhook(self) -> Response:
        if self.request.method == "GET":
            if not self.sandbox.webhook_url:
                return _json({"message": "Webhook endpoint not found"}, 404)
            return _json({"endpoint": self.sandbox.webhook_url, "active": True})
        body, error = self._body()
        if error is not None:
            return error
        try:
            self.sandbox.set_webhook_url(str(body.get("endpoint") or ""))
        except ValueError:
            return _json({"message": "Invalid webhook endpoint URL"}, 400)
        return _json({})

    def _body(self) -> tuple[dict[str, Any], Response | None]:
        content_type = self.request.mimetype
        if content_type != "application/json":
            message = f"The content type, {content_type or 'none'}, is not supported"
            return {}, _json({"message": message}, 400)
        try:
            body = json.loads(self.request.get_data())
        except ValueError:
            message = "The request body could not be parsed as JSON (line: -, column: -)"
            return {}, _json({"message": message}, 400)
        if not isinstance(body, dict):
            return {}, _json({"message": "The request body has 1 error(s)"}, 400)
        return body, None

    def _retry_conflict(self, *, include_sent: bool) -> Response | None:
        if self.retry_key is None:
            return None
        try:
            uuid.UUID(self.retry_key)
        except ValueError:
            return _json({"message": "The retry key is invalid"}, 400)
        accepted = self.state.accepted(self.retry_key)
        if accepted is None:
            return None
        accepted_id, accepted_body = accepted
        data: dict[str, Any] = {"message": "The retry key is already accepted"}
        if include_sent:
            data["sentMessages"] = accepted_body.get("sentMessages", [])
        response = _json(data, 409)
        response.headers["X-Line-Accepted-Request-Id"] = accepted_id
        return response

    # -- account-link dialog -----------------------------------------------------------------

    def dialog(self) -> Response:
        """The user opened the link dialog and agreed; `as=other` plays an impersonator."""
        token = self.request.args.get("linkToken", "")
        nonce = self.request.args.get("nonce", "")
        with self.state.lock:
            issued = self.state.link_tokens.get(token)
        if issued is None or not nonce:
            return _page("This link has expired or is invalid.", 400)
        user_id = issued.user_id
        if self.request.args.get("as") == "other":
            user_id = "U" + uuid.uuid4().hex
        try:
            deliveries = self.sandbox.account_link(user_id, token, nonce)
        except SandboxError:
            return _page("This link has expired or was already used.", 400)
        linked = deliveries[0].events[0]["link"]["result"] == "ok"
        text = "Your LINE account is now linked." if linked else "Linking failed."
        return _page(text + " You can close this window and return to LINE.", 200)

    # -- admin API (for the CLI) -------------------------------------------------------------

    def admin_friends(self) -> Response:
        if self.request.method == "POST":
            data = self._admin_body()
            if "count" in data:
                self.sandbox.seed_demo_friends(int(data["count"]))
            else:
                self.sandbox.add_friend(
                    data.get("userId"),
                    display_name=data.get("displayName"),
                    language=data.get("language"),
                )
        friends = [
            {
                "userId": f.user_id,
                "displayName": f.display_name,
                "language": f.language,
                "blocked": f.blocked,
            }
            for f in self.sandbox.friends()
        ]
        return _json({"friends": friends})

    def admin_follow(self) -> Response:
        data = self._admin_body()
        return self._deliveries(
            lambda: self.sandbox.follow(
                data.get("userId"),
                display_name=data.get("displayName"),
                language=data.get("language"),
            )
        )

    def admin_unfollow(self) -> Response:
        data = self._admin_body()
        return self._deliveries(lambda: self.sandbox.unfollow(str(data.get("userId"))))

    def admin_message(self) -> Response:
        data = self._admin_body()
        return self._deliveries(
            lambda: self.sandbox.message(str(data.get("userId")), str(data.get("text", "")))
        )

    def admin_account_link(self) -> Response:
        data = self._admin_body()
        return self._deliveries(
            lambda: self.sandbox.account_link(
                str(data.get("userId")),
                str(data.get("linkToken")),
                str(data.get("nonce")),
                str(data.get("result", "ok")),
            )
        )

    def admin_redeliver(self) -> Response:
        data = self._admin_body()
        if data.get("webhookEventId"):
            event_id = str(data["webhookEventId"])
            return self._deliveries(lambda: [self.sandbox.redeliver(event_id)])
        return self._deliveries(self.sandbox.redeliver_failed)

    def admin_faults(self) -> Response:
        if self.request.method == "DELETE":
            self.sandbox.reset_faults()
            return _json({})
        data = self._admin_body()
        webhook = data.get("webhook")
        if webhook == "bad_signature":
            self.sandbox.bad_signature_next_webhooks(int(data.get("count", 1)))
        elif webhook == "duplicate":
            self.sandbox.duplicate_next_webhooks(int(data.get("count", 1)))
        elif webhook == "redeliver":
            self.sandbox.redeliver_next_webhooks(int(data.get("count", 1)))
        elif "followersForbidden" in data:
            self.state.followers_forbidden = bool(data["followersForbidden"])
        else:
            self.sandbox.fail_next_requests(
                int(data.get("count", 1)),
                data.get("status", 429),
                delay=float(data.get("delay", 0.0)),
                after_accepting=bool(data.get("afterAccepting", False)),
                message=data.get("message"),
                path_prefix=data.get("pathPrefix"),
                skip=int(data.get("skip", 0)),
            )
        return _json({})

    def admin_reset(self) -> Response:
        data = self._admin_body()
        self.sandbox.reset(demo_friends=int(data.get("demoFriends", 0)))
        return _json({})

    def admin_messages(self) -> Response:
        records = self.sandbox.sent_messages(
            self.request.args.get("userId"), self.request.args.get("kind")
        )
        items = [
            {
                "kind": m.kind,
                "to": m.to,
                "messages": m.messages,
                "requestId": m.request_id,
                "retryKey": m.retry_key,
                "delivered": m.delivered,
            }
            for m in records
        ]
        return _json({"messages": items})

    def admin_webhooks(self) -> Response:
        items = [
            {
                "number": d.number,
                "eventIds": d.event_ids,
                "types": [e["type"] for e in d.events],
                "isRedelivery": d.is_redelivery,
                "signatureValid": d.signature_valid,
                "statusCode": d.status_code,
                "error": d.error,
            }
            for d in self.sandbox.deliveries
        ]
        return _json({"webhooks": items})

    def picture(self, user_id: str) -> Response:
        friend = self.state.friend(user_id)
        if friend is None:
            return _json({"message": "Not found"}, 404)
        hue = int(user_id[1:7], 16) % 360
        initial = html.escape(friend.display_name[:1] or "?")
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96">'
            f'<rect width="96" height="96" fill="hsl({hue},55%,60%)"/>'
            '<text x="48" y="62" font-size="44" text-anchor="middle" fill="#fff">'
            f"{initial}</text></svg>"
        )
        return Response(svg, mimetype="image/svg+xml")

    def _admin_body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.get_data() or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _deliveries(self, action: Callable[[], list[WebhookDelivery]]) -> Response:
        try:
            deliveries = action()
        except SandboxError as exc:
            return _json({"message": str(exc)}, 400)
        items = [
            {
                "eventIds": d.event_ids,
                "events": d.events,
                "statusCode": d.status_code,
                "isRedelivery": d.is_redelivery,
                "signatureValid": d.signature_valid,
                "error": d.error,
            }
            for d in deliveries
        ]
        return _json({"deliveries": items})


def start_line_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    channel_secret: str,
    channel_access_token: str,
    webhook_url: str | None = None,
    demo_friends: int = 0,
) -> LineSandbox:
    """Start the LINE stand-in on loopback; call `.stop()` when done."""
    sandbox = LineSandbox(
        channel_secret=channel_secret,
        channel_access_token=channel_access_token,
        webhook_url=webhook_url,
    )
    if demo_friends:
        sandbox.seed_demo_friends(demo_friends)
    return sandbox.start(host, port)


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json"
    )


def _page(text: str, status: int) -> Response:
    body = (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>LINE</title>"
        f"<body><p>{html.escape(text)}</p></body></html>"
    )
    return Response(body, status=status, mimetype="text/html")


def _fault_response(status: int, message: str | None) -> Response:
    return _json({"message": message or FAULT_MESSAGES.get(status, "Error")}, status)


def _invalid_property(name: str) -> Response:
    message = f"The property, {name}, in the request body is invalid (line: -, column: -)"
    return _json({"message": message}, 400)


def _validation_error(problems: list[tuple[str, str]]) -> Response:
    details = [{"message": message, "property": prop} for message, prop in problems]
    return _json(
        {"message": f"The request body has {len(details)} error(s)", "details": details}, 400
    )


def _message_problems(messages: Any) -> list[tuple[str, str]]:
    """LINE-style validation of a `messages` array as (message, property) pairs."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [(f"Size must be between 1 and {MAX_MESSAGES}", "messages")]
    problems = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("type") not in MESSAGE_TYPES:
            allowed = ", ".join(MESSAGE_TYPES)
            problems.append((f"Must be one of the following values: [{allowed}]", f"{where}.type"))
            continue
        text = message.get("text")
        if message["type"] == "text":
            if not isinstance(text, str) or not text:
                problems.append(("May not be empty", f"{where}.text"))
            elif len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
                problems.append((f"Length must be between 0 and {MAX_TEXT}", f"{where}.text"))
        alt_text = message.get("altText")
        if message["type"] in ("flex", "template", "imagemap"):
            if not isinstance(alt_text, str) or not alt_text:
                problems.append(("May not be empty", f"{where}.altText"))
            elif len(alt_text) > MAX_ALT_TEXT:
                problems.append(
                    (f"Length must be between 0 and {MAX_ALT_TEXT}", f"{where}.altText")
                )
    return problems


def _sent_messages(record: RecordedMessage) -> list[dict[str, str]]:
    sent = []
    for message_id, message in zip(record.message_ids, record.messages, strict=True):
        item = {"id": message_id}
        if message.get("type") in ("text", "textV2", "sticker", "image", "video"):
            item["quoteToken"] = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        sent.append(item)
    return sent


def _is_user_id(value: str) -> bool:
    return len(value) == 33 and value[0] == "U" and all(c in "0123456789abcdef" for c in value[1:])


def _encode_start(offset: int) -> str:
    return base64.urlsafe_b64encode(f"lumo-followers:{offset}".encode()).decode()


def _decode_start(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(number) if prefix == "lumo-followers" else None
    except ValueError:
        return None
