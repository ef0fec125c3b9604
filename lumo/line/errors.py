"""Exceptions raised by Lumo's LINE client, each saying what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LineErrorDetail:
    """One entry of LINE's `details` array; either field may be missing."""

    message: str | None
    property: str | None


class LineError(Exception):
    """Base class for every LINE failure, so callers can catch one type."""


class LineValidationError(LineError, ValueError):
    """A request was refused locally because LINE would reject it (limits in line.md §4)."""


class LineSignatureError(LineError):
    """A webhook body did not carry a valid `x-line-signature`; drop it without parsing."""


class LineWebhookError(LineError, ValueError):
    """A signed webhook body is not the JSON shape LINE documents."""


class LineConnectionError(LineError):
    """LINE could not be reached (connection error or timeout) after the allowed retries."""


class LineApiError(LineError):
    """LINE answered with an error status; carries LINE's `message`, `details` and request id."""

    hint = "Check the request against the LINE Messaging API reference."

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: Sequence[LineErrorDetail] = (),
        request_id: str | None = None,
        accepted_request_id: str | None = None,
        endpoint: str = "",
        body: Any = None,
    ) -> None:
        self.status = status
        self.message = message
        self.details = list(details)
        self.request_id = request_id
        self.accepted_request_id = accepted_request_id
        self.endpoint = endpoint
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"LINE API {self.status} on {self.endpoint or 'request'}: {self.message}"
        if self.details:
            parts = [f"{d.property or '?'}: {d.message or '?'}" for d in self.details]
            text += " [" + "; ".join(parts) + "]"
        if self.request_id:
            text += f" (x-line-request-id {self.request_id})"
        return f"{text}. {self.hint}"


class LineAuthError(LineApiError):
    """401: the channel access token is missing, wrong, revoked or expired."""

    hint = (
        "The LINE channel access token was rejected. Issue a new one in the LINE Developers "
        "console (Messaging API tab) and save it in Lumo's LINE settings."
    )


class LineForbidden(LineApiError):
    """403: the Official Account's plan or verification status does not allow this API."""

    hint = (
        "This LINE Official Account may not use this API (followers/ids needs a verified or "
        "premium account); rely on follow webhooks instead."
    )


class LineNotFound(LineApiError):
    """404: for profiles, the user blocked the account, is not a friend, or does not exist."""

    hint = "Treat this LINE user as unreachable (blocked, not a friend, or unknown)."


class LineRateLimited(LineApiError):
    """429 that persisted through the client's bounded retries."""

    hint = "LINE's rate limit was still exceeded after retrying; try again in a minute."


class LineQuotaExceeded(LineRateLimited):
    """429 'You have reached your monthly limit.': retrying cannot help this month."""

    hint = (
        "The monthly message quota of this LINE Official Account is used up; upgrade the plan "
        "in LINE Official Account Manager or wait for next month."
    )


class LineServerError(LineApiError):
    """5xx that persisted through the client's bounded retries."""

    hint = "LINE had an internal error; the request can be retried later with the same retry key."
