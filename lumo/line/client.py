"""A small, typed LINE Messaging API client with bounded retries and retry-key semantics."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from lumo.line.errors import (
    LineApiError,
    LineAuthError,
    LineConnectionError,
    LineError,
    LineErrorDetail,
    LineForbidden,
    LineNotFound,
    LineQuotaExceeded,
    LineRateLimited,
    LineServerError,
    LineValidationError,
)
from lumo.line.messages import (
    MAX_MULTICAST_RECIPIENTS,
    PUSH_TARGET_RE,
    validate_messages,
    validate_user_id,
)

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.line.me"
DEFAULT_DATA_API_BASE_URL = "https://api-data.line.me"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
REQUEST_ID_HEADER = "x-line-request-id"
ACCEPTED_REQUEST_ID_HEADER = "x-line-accepted-request-id"
RETRY_KEY_HEADER = "X-Line-Retry-Key"
MAX_FOLLOWER_PAGE = 1000
QUOTA_MESSAGE = "You have reached your monthly limit."


@dataclass(frozen=True)
class Profile:
    """A friend's LINE profile; optional fields are None when LINE omits them."""

    user_id: str
    display_name: str
    picture_url: str | None = None
    language: str | None = None
    status_message: str | None = None


@dataclass(frozen=True)
class BotInfo:
    """The Official Account's own identity; `user_id` is the webhook `destination`."""

    user_id: str
    display_name: str
    basic_id: str | None = None
    picture_url: str | None = None


@dataclass(frozen=True)
class SentMessage:
    id: str
    quote_token: str | None = None


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send request (one multicast chunk, one push or one reply).

    `already_accepted` is True when LINE answered 409 for the retry key: an earlier attempt
    was accepted, so the messages went out exactly once.
    """

    request_id: str | None
    retry_key: str | None = None
    recipient_count: int = 1
    already_accepted: bool = False
    accepted_request_id: str | None = None
    sent_messages: list[SentMessage] = field(default_factory=list)


class LineMulticastError(LineError):
    """A multicast chunk failed; earlier chunks went out and are listed in `completed`.

    Call `multicast` again with the same `retry_key` and the same ids: accepted chunks answer
    409 and are not sent twice.
    """

    def __init__(
        self, cause: LineError, completed: list[SendResult], failed_user_ids: list[str]
    ) -> None:
        self.cause = cause
        self.completed = completed
        self.failed_user_ids = failed_user_ids
        super().__init__(
            f"Multicast stopped after {len(completed)} accepted chunk(s); "
            f"{len(failed_user_ids)} recipient(s) not sent: {str(cause).rstrip('.')}. "
            "Re-run it with the same retry key to send the rest without duplicates."
        )


class LineClient:
    """Calls the Messaging API with explicit timeouts, bounded backoff and typed errors.

    429 and 5xx (and timeouts, where the call is safe to repeat) are retried up to
    `max_retries` times; push and multicast always carry a retry key so a repeat is never a
    second send.
    """

    def __init__(
        self,
        channel_access_token: str,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        data_api_base_url: str = DEFAULT_DATA_API_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        http_client: httpx.Client | None = None,
    ) -> None:
        if not channel_access_token:
            raise LineValidationError(
                "A LINE channel access token is required; copy it from the LINE Developers "
                "console (Messaging API tab) into Lumo's LINE settings."
            )
        self.api_base_url = api_base_url.rstrip("/")
        self.data_api_base_url = data_api_base_url.rstrip("/")
        self.max_retries = max(0, max_retries)
        self._token = channel_access_token
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self._timeout)

    def close(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> LineClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- profiles and friends ---------------------------------------------------------------

    def get_bot_info(self) -> BotInfo:
        """Return the Official Account's own user id (the webhook `destination`) and name."""
        data = self._request("GET", "/v2/bot/info").json()
        return BotInfo(
            user_id=data["userId"],
            display_name=data.get("displayName", ""),
            basic_id=data.get("basicId"),
            picture_url=data.get("pictureUrl"),
        )

    def get_profile(self, user_id: str) -> Profile:
        """Fetch a friend's profile; raises LineNotFound when the user blocked or is unknown."""
        validate_user_id(user_id)
        data = self._request("GET", f"/v2/bot/profile/{quote(user_id)}").json()
        return Profile(
            user_id=data.get("userId", user_id),
            display_name=data.get("displayName", ""),
            picture_url=data.get("pictureUrl"),
            language=data.get("language"),
            status_message=data.get("statusMessage"),
        )

    def iter_follower_ids(self, limit: int = MAX_FOLLOWER_PAGE) -> Iterator[str]:
        """Yield every follower id, page by page; pages may be short while `next` remains."""
        if not 1 <= limit <= MAX_FOLLOWER_PAGE:
            raise LineValidationError(f"limit must be between 1 and {MAX_FOLLOWER_PAGE}.")
        start: str | None = None
        pages = 0
        total = 0
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if start:
                params["start"] = start
            data = self._request("GET", "/v2/bot/followers/ids", params=params).json()
            pages += 1
            user_ids = data.get("userIds") or []
            total += len(user_ids)
            yield from user_ids
            start = data.get("next")
            if not start:
                break
        logger.info("LINE followers/ids: %d ids in %d page(s)", total, pages)

    def issue_link_token(self, user_id: str) -> str:
        """Issue a single-use, 10-minute account-link token for this friend."""
        validate_user_id(user_id)
        response = self._request("POST", f"/v2/bot/user/{quote(user_id)}/linkToken")
        return str(response.json()["linkToken"])

    # -- sending -----------------------------------------------------------------------------

    def reply(
        self,
        reply_token: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        notification_disabled: bool = False,
    ) -> SendResult:
        """Answer a webhook event (free, single-use token, within a minute); never retried
        after a 5xx or timeout because the first attempt may have been delivered."""
        if not reply_token:
            raise LineValidationError("A reply token is required; use push for later messages.")
        body = {
            "replyToken": reply_token,
            "messages": validate_messages(messages),
            "notificationDisabled": notification_disabled,
        }
        response = self._request("POST", "/v2/bot/message/reply", body=body, repeatable=False)
        return SendResult(
            request_id=response.headers.get(REQUEST_ID_HEADER),
            sent_messages=_sent_messages(response),
        )

    def push(
        self,
        user_id: str,
        messages: Sequence[Mapping[str, Any]],
        retry_key: str | None = None,
        *,
        notification_disabled: bool = False,
    ) -> SendResult:
        """Send to one friend (or group/room); a retry key is generated when none is given."""
        if not isinstance(user_id, str) or not PUSH_TARGET_RE.fullmatch(user_id):
            raise LineValidationError(
                "push needs a LINE user, group or room id ('U', 'C' or 'R' + 32 hex digits)."
            )
        key = _retry_key(retry_key)
        body = {
            "to": user_id,
            "messages": validate_messages(messages),
            "notificationDisabled": notification_disabled,
        }
        response = self._request("POST", "/v2/bot/message/push", body=body, retry_key=key)
        return _send_result(response, key, 1)

    def multicast(
        self,
        user_ids: Sequence[str],
        messages: Sequence[Mapping[str, Any]],
        retry_key: str | None = None,
        *,
        notification_disabled: bool = False,
    ) -> list[SendResult]:
        """Send to many friends in chunks of 500, one retry key per chunk.

        Chunk 0 uses `retry_key` itself and chunk i uses uuid5(retry_key, str(i)), so running
        the same multicast again with the same key re-sends nothing that was accepted.
        """
        recipients = list(dict.fromkeys(user_ids))
        if not recipients:
            raise LineValidationError("multicast needs at least one LINE user id.")
        for index, user_id in enumerate(recipients):
            validate_user_id(user_id, where=f"user_ids[{index}]")
        checked = validate_messages(messages)
        base_key = uuid.UUID(_retry_key(retry_key))

        results: list[SendResult] = []
        for number, start in enumerate(range(0, len(recipients), MAX_MULTICAST_RECIPIENTS)):
            chunk = recipients[start : start + MAX_MULTICAST_RECIPIENTS]
            key = str(base_key if number == 0 else uuid.uuid5(base_key, str(number)))
            body = {
                "to": chunk,
                "messages": checked,
                "notificationDisabled": notification_disabled,
            }
            try:
                response = self._request(
                    "POST", "/v2/bot/message/multicast", body=body, retry_key=key
                )
            except LineError as exc:
                raise LineMulticastError(exc, results, recipients[start:]) from exc
            results.append(_send_result(response, key, len(chunk)))

        logger.info(
            "LINE multicast: %d recipient(s) in %d chunk(s), %d already accepted",
            len(recipients),
            len(results),
            sum(r.already_accepted for r in results),
        )
        return results

    # -- webhook settings --------------------------------------------------------------------

    def set_webhook_endpoint(self, endpoint: str) -> None:
        """Point the channel's webhook at `endpoint` (LINE caches it for up to a minute)."""
        self._request("PUT", "/v2/bot/channel/webhook/endpoint", body={"endpoint": endpoint})

    def get_webhook_endpoint(self) -> tuple[str, bool]:
        """Return the channel's webhook URL and whether it is active."""
        data = self._request("GET", "/v2/bot/channel/webhook/endpoint").json()
        return str(data["endpoint"]), bool(data.get("active"))

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        retry_key: str | None = None,
        repeatable: bool = True,
    ) -> httpx.Response:
        """Send one call, retrying 429 always and 5xx/timeouts when repeating is safe."""
        url = self.api_base_url + path
        headers = {"Authorization": f"Bearer {self._token}"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        if retry_key:
            headers[RETRY_KEY_HEADER] = retry_key

        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, url, params=params, content=content, headers=headers,
                    timeout=self._timeout,
                )  # fmt: skip
            except httpx.TransportError as exc:
                if not repeatable or attempt >= self.max_retries:
                    raise LineConnectionError(
                        f"LINE could not be reached for {method} {path} after {attempt + 1} "
                        f"attempt(s): {exc.__class__.__name__}. Check the network and retry."
                    ) from exc
                delay = self._backoff(attempt)
                logger.warning(
                    "LINE %s %s: %s, retry %d/%d in %.2f s",
                    method, path, exc.__class__.__name__, attempt + 1, self.max_retries, delay,
                )  # fmt: skip
                self._sleep(delay)
                attempt += 1
                continue

            status = response.status_code
            request_id = response.headers.get(REQUEST_ID_HEADER)
            if status < 300 or (status == 409 and retry_key):
                logger.debug("LINE %s %s: %d (request id %s)", method, path, status, request_id)
                return response

            retryable = (status == 429 and not _is_quota(response)) or (
                status >= 500 and repeatable
            )
            if not retryable or attempt >= self.max_retries:
                raise _api_error(response, f"{method} {path}")
            delay = self._retry_after(response) or self._backoff(attempt)
            logger.warning(
                "LINE %s %s: status %d (request id %s), retry %d/%d in %.2f s",
                method, path, status, request_id, attempt + 1, self.max_retries, delay,
            )  # fmt: skip
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return float(min(self._backoff_cap, self._backoff_base * (2**attempt)))

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After", "")
        try:
            return min(float(value), 60.0) if value else None
        except ValueError:
            return None


def _retry_key(retry_key: str | None) -> str:
    """Use the caller's key (it must be a UUID, as LINE requires) or make a fresh one."""
    if retry_key is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(retry_key))
    except (ValueError, AttributeError, TypeError):
        raise LineValidationError(
            "retry_key must be a UUID (e.g. str(uuid.uuid4())); LINE rejects other values."
        ) from None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _is_quota(response: httpx.Response) -> bool:
    data = _json_or_none(response)
    return isinstance(data, dict) and data.get("message") == QUOTA_MESSAGE


def _sent_messages(response: httpx.Response) -> list[SentMessage]:
    data = _json_or_none(response)
    items = data.get("sentMessages") if isinstance(data, dict) else None
    return [
        SentMessage(id=str(item.get("id")), quote_token=item.get("quoteToken"))
        for item in items or []
        if isinstance(item, dict)
    ]


def _send_result(response: httpx.Response, retry_key: str, recipient_count: int) -> SendResult:
    already = response.status_code == 409
    if already:
        logger.info(
            "LINE retry key %s already accepted (request id %s)",
            retry_key,
            response.headers.get(ACCEPTED_REQUEST_ID_HEADER),
        )
    return SendResult(
        request_id=response.headers.get(REQUEST_ID_HEADER),
        retry_key=retry_key,
        recipient_count=recipient_count,
        already_accepted=already,
        accepted_request_id=response.headers.get(ACCEPTED_REQUEST_ID_HEADER),
        sent_messages=_sent_messages(response),
    )


def _api_error(response: httpx.Response, endpoint: str) -> LineApiError:
    """Turn an error response into the matching exception with LINE's message and details."""
    data = _json_or_none(response)
    message = ""
    details: list[LineErrorDetail] = []
    if isinstance(data, dict):
        message = str(data.get("message") or data.get("error_description") or "")
        for item in data.get("details") or []:
            if isinstance(item, dict):
                details.append(LineErrorDetail(item.get("message"), item.get("property")))
    if not message:
        message = response.reason_phrase or f"HTTP {response.status_code}"

    status = response.status_code
    cls: type[LineApiError] = LineApiError
    if status == 401:
        cls = LineAuthError
    elif status == 403:
        cls = LineForbidden
    elif status == 404:
        cls = LineNotFound
    elif status == 429:
        cls = LineQuotaExceeded if message == QUOTA_MESSAGE else LineRateLimited
    elif status >= 500:
        cls = LineServerError
    return cls(
        status,
        message,
        details=details,
        request_id=response.headers.get(REQUEST_ID_HEADER),
        accepted_request_id=response.headers.get(ACCEPTED_REQUEST_ID_HEADER),
        endpoint=endpoint,
        body=data,
    )
